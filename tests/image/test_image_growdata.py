"""First boot grows the data partition to fill the card: the MBR arithmetic on real sfdisk-made tables, the
refusals that leave a card untouched, and the sysfs reading. (The boot test grows a real one in QEMU.)"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from pathlib import Path

import growdata
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.skipif(shutil.which("sfdisk") is None, reason="needs sfdisk (fdisk)")
MIB = 2048  # sectors


def make_disk(path: Path, script: str, size_mib: int, label: str = "dos") -> Path:
    with path.open("wb") as handle:
        handle.truncate(size_mib << 20)
    subprocess.run(["sfdisk", "--quiet", str(path)], input=f"label: {label}\n{script}", text=True, check=True)
    return path


def table(path: Path) -> list[dict]:
    out = subprocess.run(["sfdisk", "--json", str(path)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)["partitiontable"]["partitions"]


def card(tmp_path: Path, grown_to_mib: int = 256) -> Path:
    """The image's layout in small (FAT, root, data), flashed onto a bigger card."""
    disk = make_disk(tmp_path / "card.img", f"start={MIB}, size={8 * MIB}, type=c\nsize={16 * MIB}, type=83\n"
                     f"size={8 * MIB}, type=83\n", 40)
    with disk.open("r+b") as handle:
        handle.truncate(grown_to_mib << 20)
    return disk


def test_data_partition_grows_to_the_end_of_the_card(tmp_path):
    disk = card(tmp_path)
    before = table(disk)
    mbr = disk.read_bytes()[:512]
    sectors = growdata.grown_sectors(mbr, 3, disk.stat().st_size // 512)
    with disk.open("r+b") as handle:
        handle.write(growdata.patch(mbr, 3, sectors))
    after = table(disk)
    assert after[:2] == before[:2]
    assert after[2]["start"] == before[2]["start"]
    assert after[2]["start"] + after[2]["size"] == 256 * MIB  # sfdisk agrees: it ends at the card's end
    assert growdata.grown_sectors(disk.read_bytes()[:512], 3, 256 * MIB) is None  # once: nothing left


def test_small_slack_is_left_alone(tmp_path):
    disk = card(tmp_path, grown_to_mib=40 + 8)
    assert growdata.grown_sectors(disk.read_bytes()[:512], 3, 48 * MIB) is None


@pytest.mark.parametrize(("script", "label", "number", "message"), [
    (f"start={MIB}, size={8 * MIB}\nsize={8 * MIB}\n", "gpt", 2, "GPT"),
    (f"start={MIB}, size={8 * MIB}, type=c\nsize={8 * MIB}, type=83\nsize={8 * MIB}, type=83\n", "dos", 2,
     "not the last"),
    (f"start={MIB}, size={8 * MIB}, type=c\nsize={8 * MIB}, type=5\n", "dos", 1, "not Linux"),
    (f"start={MIB}, size={8 * MIB}, type=83\nsize={8 * MIB}, type=5\n", "dos", 1, "extended"),
    (f"start={MIB}, size={8 * MIB}, type=83\n", "dos", 3, "not in the MBR"),
])
def test_unexpected_layouts_are_refused(tmp_path, script, label, number, message):
    disk = make_disk(tmp_path / "odd.img", script, 64, label)
    with pytest.raises(growdata.GrowError, match=message):
        growdata.grown_sectors(disk.read_bytes()[:512], number, 128 * MIB)


def test_no_table_is_refused():
    with pytest.raises(growdata.GrowError, match="no MBR"):
        growdata.read_table(bytes(512))


@settings(max_examples=200, deadline=None)
@given(mbr=st.binary(min_size=510, max_size=510), number=st.integers(1, 4),
       sectors=st.integers(1, growdata.MAX_SECTORS))
def test_patch_changes_only_that_entrys_sector_count(mbr, number, sectors):
    original = mbr + growdata.SIGNATURE
    patched = growdata.patch(original, number, sectors)
    changed = [i for i in range(512) if patched[i] != original[i]]
    offset = growdata.TABLE_OFFSET + (number - 1) * growdata.ENTRY_SIZE + 12
    assert all(offset <= i < offset + 4 for i in changed)
    assert int.from_bytes(patched[offset:offset + 4], "little") == sectors


def test_partition_is_read_from_sysfs(tmp_path):
    """The kernel's view: /sys/dev/block/MAJ:MIN → …/vda/vda3 with partition, start and size files."""
    dev = os.stat(tmp_path).st_dev
    disk = tmp_path / "sys/devices/virtio/vda"
    part = disk / "vda3"
    part.mkdir(parents=True)
    (disk / "size").write_text(f"{256 * MIB}\n")
    for name, value in (("partition", 3), ("start", 34 * MIB), ("size", 8 * MIB)):
        (part / name).write_text(f"{value}\n")
    links = tmp_path / "sys/dev/block"
    links.mkdir(parents=True)
    (links / f"{os.major(dev)}:{os.minor(dev)}").symlink_to(part)
    found = growdata.partition_of(tmp_path, links)
    assert found == growdata.BlockPartition(Path("/dev/vda"), Path("/dev/vda3"), 3, 34 * MIB, 8 * MIB, 256 * MIB)
    (part / "partition").unlink()
    with pytest.raises(growdata.GrowError, match="not on a disk partition"):
        growdata.partition_of(tmp_path, links)



@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("losetup") is None, reason="needs root and losetup")
def test_the_kernel_understands_the_resize_request(tmp_path):
    """BLKPG on a real (loop) disk: the kernel checks the request's size and fields before it looks for the
    partition, so "no such partition" (ENXIO), not EINVAL, shows the request is laid out as it expects."""
    disk = card(tmp_path)
    loop = subprocess.run(["losetup", "--find", "--show", str(disk)], capture_output=True, text=True,
                          check=True).stdout.strip()
    try:
        with pytest.raises(OSError) as raised:
            growdata.resize_kernel_partition(Path(loop), 3, 34 * MIB, 200 * MIB)
        assert raised.value.errno == errno.ENXIO
    finally:
        subprocess.run(["losetup", "--detach", loop], check=True)
