"""First boot: the per-kit seed on the boot partition was applied once and its secrets wiped."""

import shlex

import pytest

pytestmark = pytest.mark.hil


def test_hostname_comes_from_the_seed(kit, seed):
    assert kit.run("hostname").strip() == seed.hostname


def test_ssh_key_from_the_seed_is_authorised(kit, seed):
    key = seed.ssh_authorized_keys[0]
    found = kit.run_status(
        f"grep -rlF {shlex.quote(key)} /root/.ssh /home /etc/ssh /var/lib/evy 2>/dev/null")[1].split()
    assert found, "the seed's SSH key is in no authorized_keys file on the kit"


def test_country_reaches_the_agent(kit, seed, options):
    config = kit.run("evy config show")
    assert f'country = "{seed.country}"' in config
    assert f"emergency number {options.emergency_number}" in kit.run("evy config check")


def test_secrets_are_wiped_from_the_boot_partition(kit, seed, options):
    leftovers = kit.run_status("cat /boot/firmware/*.toml /boot/firmware/*seed* 2>/dev/null")[1]
    for name, value in seed.secrets().items():
        assert value not in leftovers, f"the seed's {name} is still readable on the boot partition"


def test_root_has_no_password(kit):
    """Field kits are key-only: root has no password that SSH or a stolen card could use."""
    state = kit.run("passwd -S root").split()[1]
    assert state != "P", "root has a usable password"


def test_seed_is_applied_only_once(kit, seed, options):
    if kit.boots < 2:
        kit.power_cycle()
    unit = shlex.quote(options.firstboot_unit)
    shown = kit.run(f"systemctl show -p LoadState,ConditionResult,ActiveState {unit}")
    assert "LoadState=loaded" in shown, f"{options.firstboot_unit} is not on the kit: {shown}"
    assert "ConditionResult=no" in shown, f"{options.firstboot_unit} ran again on a later boot: {shown}"
    assert kit.run("hostname").strip() == seed.hostname  # and what it set survived the power cut
