"""`invoke flash` refuses the host's own disks: checks on a fake sysfs and mount table."""

from pathlib import Path

import pytest
from evyimage import flash
from evyimage.errors import FlashError

GB = 10**9


def fake_sysfs(tmp_path: Path, name: str = "sdb", size: int = 32 * GB, removable: str = "1",
               parts: int = 2) -> Path:
    sys_root = tmp_path / "sys"
    disk = sys_root / "devices" / name
    disk.mkdir(parents=True)
    (disk / "dev").write_text("8:16\n")
    (disk / "size").write_text(f"{size // 512}\n")
    (disk / "removable").write_text(removable + "\n")
    (disk / "holders").mkdir()
    (disk / "device").mkdir()
    (disk / "device" / "model").write_text("SD Card Reader\n")
    (sys_root / "class" / "block").mkdir(parents=True)
    (sys_root / "class" / "block" / name).symlink_to(disk)
    for index in range(1, parts + 1):
        part = disk / f"{name}{index}"
        part.mkdir()
        (part / "partition").write_text(f"{index}\n")
        (part / "dev").write_text(f"8:{16 + index}\n")
        (part / "holders").mkdir()
        (sys_root / "class" / "block" / f"{name}{index}").symlink_to(part)
    return sys_root


def check(tmp_path, device="/dev/sdb", image_size=2 * GB, mountinfo="", swaps="", **kwargs):
    host = flash.HostState(fake_sysfs(tmp_path, **kwargs), mountinfo, swaps)
    return flash.check_device(Path(device), image_size, host, is_block=lambda p: True)


def test_unused_card_is_accepted(tmp_path):
    facts = check(tmp_path)
    assert facts["name"] == "sdb" and facts["size_gb"] == "32.0" and facts["model"] == "SD Card Reader"


def test_not_a_block_device(tmp_path):
    host = flash.HostState(fake_sysfs(tmp_path), "", "")
    with pytest.raises(FlashError, match="not a block device"):
        flash.check_device(tmp_path / "file.img", GB, host)


def test_partition_is_refused(tmp_path):
    with pytest.raises(FlashError, match=r"is a partition; give the whole disk \(/dev/sdb\)"):
        check(tmp_path, device="/dev/sdb1")


@pytest.mark.parametrize("numbers", ["8:16", "8:18"])
def test_mounted_disk_or_partition_is_refused(tmp_path, numbers):
    mountinfo = f"29 1 {numbers} / / rw,relatime shared:1 - ext4 /dev/sdb2 rw\n"
    with pytest.raises(FlashError, match="is in use: / is mounted from it"):
        check(tmp_path, mountinfo=mountinfo)


def test_swap_is_refused(tmp_path):
    swaps = "Filename\tType\tSize\tUsed\tPriority\n/dev/sdb1\tpartition\t1000\t0\t-2\n"
    with pytest.raises(FlashError, match="active swap"):
        check(tmp_path, swaps=swaps)


def test_device_mapper_member_is_refused(tmp_path):
    sys_root = fake_sysfs(tmp_path)
    (sys_root / "devices/sdb/sdb2/holders/dm-0").mkdir()
    with pytest.raises(FlashError, match="device-mapper/RAID"):
        flash.check_device(Path("/dev/sdb"), GB, flash.HostState(sys_root, "", ""), is_block=lambda p: True)


def test_too_small_and_empty_reader(tmp_path):
    with pytest.raises(FlashError, match="smaller than the image"):
        check(tmp_path, size=GB)


def test_empty_reader(tmp_path):
    with pytest.raises(FlashError, match="no medium"):
        check(tmp_path, size=0)


@pytest.mark.parametrize("name", ["loop0", "dm-1", "md0", "zram0"])
def test_virtual_devices_are_refused(tmp_path, name):
    with pytest.raises(FlashError, match="virtual device"):
        check(tmp_path, device=f"/dev/{name}", name=name)


def test_confirmation_must_be_the_device_name(tmp_path):
    facts = check(tmp_path)
    flash.confirm(facts, "sdb\n")
    flash.confirm(facts, "/dev/sdb")
    for answer in ("y", "yes", "sda", ""):
        with pytest.raises(FlashError, match="not confirmed"):
            flash.confirm(facts, answer)


def test_bmaptool_prefers_the_xz(tmp_path):
    image = tmp_path / "evy.img"
    image.write_bytes(b"x")
    assert flash.bmaptool_command(image, tmp_path / "evy.bmap", Path("/dev/sdb"))[4] == str(image)
    (tmp_path / "evy.img.xz").write_bytes(b"x")
    assert flash.bmaptool_command(image, tmp_path / "evy.bmap", Path("/dev/sdb"))[:5] == [
        "bmaptool", "copy", "--bmap", str(tmp_path / "evy.bmap"), str(tmp_path / "evy.img.xz")]
