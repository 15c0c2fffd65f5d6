"""Overlay rendering and the shipped overlay files: fstab, overlayroot, journald, SSH, the agent's sandbox."""

import configparser
import os
from pathlib import Path

import pytest
from evyimage import overlays, profile
from evyimage.errors import StageError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    tree = tmp_path_factory.mktemp("tree")
    field = profile.load(REPO / "image/profiles/field.toml")
    written = overlays.apply_all(field, REPO, tree)
    assert "/etc/fstab" in written
    return tree


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)  # systemd repeats keys (DeviceAllow)
    parser.optionxform = str
    parser.read(path)
    return parser


def test_no_placeholder_left(rendered):
    for path in rendered.rglob("*"):
        if path.is_file():
            assert "{{" not in path.read_text(errors="replace") or path.suffix == ".py", path


def test_fstab_read_only_boot_tmpfs_logs_persistent_data(rendered):
    rows = [line.split() for line in (rendered / "etc/fstab").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    by_mount = {row[1]: row for row in rows}
    assert by_mount["/"][0] == "LABEL=EVYROOT" and by_mount["/"][3].startswith("ro")
    assert by_mount["/boot/firmware"][2] == "vfat" and by_mount["/boot/firmware"][3].startswith("ro")
    assert by_mount["/var/log"][2] == "tmpfs" and by_mount["/tmp"][2] == "tmpfs"
    data = by_mount["/var/lib/evy"]
    assert data[0] == "LABEL=EVYDATA" and data[2] == "ext4" and "noatime" in data[3].split(",")


def test_overlayroot_does_not_overlay_the_data_partition(rendered):
    assert 'overlayroot="tmpfs:recurse=0"' in (rendered / "etc/overlayroot.conf").read_text()


def test_journald_volatile_and_capped(rendered):
    journal = unit(rendered / "etc/systemd/journald.conf.d/evy.conf")["Journal"]
    assert journal["Storage"] == "volatile" and journal["RuntimeMaxUse"].endswith("M")


def test_ssh_key_only(rendered):
    text = (rendered / "etc/ssh/sshd_config.d/evy.conf").read_text()
    for line in ("PasswordAuthentication no", "KbdInteractiveAuthentication no", "PermitEmptyPasswords no",
                 "AuthenticationMethods publickey"):
        assert line in text
    assert "/var/lib/evy/ssh/ssh_host_ed25519_key" in text


def test_agent_unit_sandbox_restart_watchdog(rendered):
    service = unit(rendered / "etc/systemd/system/evy-agent.service")
    svc = service["Service"]
    assert svc["Type"] == "notify" and svc["WatchdogSec"] and svc["Restart"] == "always"
    assert svc["ProtectSystem"] == "strict" and svc["ReadWritePaths"] == "/var/lib/evy"
    assert svc["User"] == "evy" and {"dialout", "gpio", "spi"} <= set(svc["SupplementaryGroups"].split())
    assert svc["NoNewPrivileges"] == "yes" and svc["CapabilityBoundingSet"] == ""
    assert svc["ExecStart"].startswith("/usr/local/bin/evy run")
    assert "/var/lib/evy" in service["Unit"]["RequiresMountsFor"]


def test_firstboot_unit_runs_before_ssh_and_agent(rendered):
    service = unit(rendered / "etc/systemd/system/evy-firstboot.service")
    before = service["Unit"]["Before"].split()
    assert "ssh.service" in before and "evy-agent.service" in before
    assert os.access(rendered / "usr/lib/evy-image/firstboot.py", os.X_OK)


def test_unknown_variable_is_an_error(tmp_path):
    with pytest.raises(StageError, match=r"unknown overlay variable.*known: "):
        overlays.render("x {{ nosuch }}", {"hostname": "h"}, "f")
    assert overlays.render("{{hostname}}-{{ hostname }}", {"hostname": "h"}, "f") == "h-h"


def test_binary_files_and_symlinks_copied(tmp_path):
    source, tree = tmp_path / "src", tmp_path / "tree"
    (source / "etc").mkdir(parents=True)
    (source / "etc/blob").write_bytes(b"\xff\xfe{{ x }}")
    (source / "etc/link").symlink_to("blob")
    overlays.apply(source, tree, {})
    assert (tree / "etc/blob").read_bytes() == b"\xff\xfe{{ x }}"
    assert os.readlink(tree / "etc/link") == "blob"


def test_ssh_authorized_keys_are_outside_the_agents_data_partition(rendered):
    """sshd's StrictModes refuses a key file under a directory not owned by root or the user; data_dir is evy's."""
    data_dir = profile.load(REPO / "image/profiles/field.toml")["agent.config"]["data_dir"]
    lines = (rendered / "etc/ssh/sshd_config.d/evy.conf").read_text().splitlines()
    [keys] = [line.split()[1:] for line in lines if line.startswith("AuthorizedKeysFile")]
    assert "/etc/ssh/authorized_keys/%u" in keys
    assert not any(path.startswith(data_dir) for path in keys)


def test_first_boot_runs_again_for_a_new_seed(rendered):
    conditions = (rendered / "etc/systemd/system/evy-firstboot.service").read_text()
    assert "ConditionPathExists=|!/var/lib/evy/.firstboot-done" in conditions
    assert "ConditionPathExists=|/boot/firmware/evy-seed.toml" in conditions
