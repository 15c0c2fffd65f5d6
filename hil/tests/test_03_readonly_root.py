"""Read-only root: an overlay over a read-only lower, tmpfs logs, and only the data partition persists."""

import secrets

import pytest

pytestmark = pytest.mark.hil


def test_root_is_an_overlay_over_a_readonly_lower(kit):
    assert kit.mount("/")["fstype"] == "overlay"
    lower = kit.mount("/media/root-ro")  # where overlayroot mounts the card's root partition
    assert lower, "no lower root at /media/root-ro (overlayroot not active?)"
    assert "ro" in lower["options"].split(",")


@pytest.mark.parametrize("path", ["/var/log", "/tmp"])
def test_volatile_paths_are_tmpfs(kit, path):
    assert kit.mount(path).get("fstype") == "tmpfs", f"{path}: {kit.mount(path)}"


def test_boot_partition_is_readonly(kit):
    boot = kit.mount("/boot/firmware")
    assert boot and "ro" in boot["options"].split(","), f"/boot/firmware: {boot}"


def test_data_partition_is_writable_ext4(kit, options):
    data = kit.mount(options.data_dir)
    assert data.get("fstype") == "ext4", f"{options.data_dir}: {data}"
    assert "rw" in data["options"].split(",")


def test_power_cut_keeps_data_and_forgets_etc(kit, options):
    token = secrets.token_hex(8)
    kit.run(f"echo {token} > /etc/evy-hil-marker && echo {token} > {options.data_dir}/.evy-hil-marker && sync")
    kit.power_cycle()
    assert kit.read_file("/etc/evy-hil-marker") is None, "a file written to /etc survived a power cut"
    assert kit.read_file(f"{options.data_dir}/.evy-hil-marker") == token
    kit.run(f"rm -f {options.data_dir}/.evy-hil-marker")
