"""Grow the data partition and its ext4 to fill the card (first boot, online, standard library only).

The image is small (``partitions.data_mib``) so it flashes quickly onto any card; the data partition is the
last MBR partition, so on the kit it can take the rest of the card. Only the partition's sector count in the
MBR changes; anything unexpected (a GPT, an extended partition, a partition after the data partition, a
table that disagrees with the kernel) leaves the card as it is.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

SECTOR = 512
TABLE_OFFSET, ENTRY_SIZE, ENTRIES = 446, 16, 4
SIGNATURE = b"\x55\xaa"
ALIGN = 2048  # sectors: partitions end on a MiB boundary
MIN_GROWTH = 16 * 2048  # sectors: less slack than 16 MiB is not worth touching the table for
LINUX, GPT_PROTECTIVE, EXTENDED = 0x83, 0xEE, (0x05, 0x0F, 0x85)
MAX_SECTORS = 0xFFFFFFFF  # an MBR entry's 32-bit count: 2 TiB
BLKPG, BLKPG_RESIZE_PARTITION = 0x1269, 3  # <linux/blkpg.h>


class GrowError(ValueError):
    """The card's layout is not one this tool grows; the message says why. Nothing was written."""


@dataclass(frozen=True)
class Entry:
    number: int  # 1..4
    kind: int
    start: int  # sectors
    sectors: int

    @property
    def end(self) -> int:
        return self.start + self.sectors


def read_table(mbr: bytes) -> list[Entry]:
    """The used primary entries of an MBR (512 bytes)."""
    if len(mbr) < SECTOR or mbr[510:512] != SIGNATURE:
        raise GrowError("no MBR partition table (boot signature missing)")
    entries = []
    for index in range(ENTRIES):
        raw = mbr[TABLE_OFFSET + index * ENTRY_SIZE:TABLE_OFFSET + (index + 1) * ENTRY_SIZE]
        kind = raw[4]
        if kind == 0:
            continue
        if kind == GPT_PROTECTIVE:
            raise GrowError("the card has a GPT; only MBR cards are grown")
        entries.append(Entry(index + 1, kind, int.from_bytes(raw[8:12], "little"),
                             int.from_bytes(raw[12:16], "little")))
    return entries


def grown_sectors(mbr: bytes, number: int, disk_sectors: int) -> int | None:
    """The new sector count for partition ``number`` to fill the disk, or None when there is nothing to gain."""
    entries = read_table(mbr)
    by_number = {entry.number: entry for entry in entries}
    if number not in by_number:
        raise GrowError(f"partition {number} is not in the MBR")
    target = by_number[number]
    if target.kind != LINUX:
        raise GrowError(f"partition {number} is type {target.kind:#04x}, not Linux (0x83)")
    if any(entry.kind in EXTENDED for entry in entries):
        raise GrowError("the card has an extended partition; not grown")
    if any(entry.number != number and entry.end > target.start for entry in entries):
        raise GrowError(f"partition {number} is not the last on the card")
    if target.end > disk_sectors:
        raise GrowError(f"partition {number} ends past the end of the disk ({target.end} > {disk_sectors})")
    end = min(disk_sectors, target.start + MAX_SECTORS) // ALIGN * ALIGN
    new = end - target.start
    return new if new - target.sectors >= MIN_GROWTH else None


def patch(mbr: bytes, number: int, sectors: int) -> bytes:
    """The MBR with partition ``number``'s sector count replaced; every other byte unchanged."""
    if not 0 < sectors <= MAX_SECTORS:
        raise GrowError(f"{sectors} sectors do not fit an MBR entry")
    offset = TABLE_OFFSET + (number - 1) * ENTRY_SIZE + 12
    return mbr[:offset] + sectors.to_bytes(4, "little") + mbr[offset + 4:]


@dataclass(frozen=True)
class BlockPartition:
    disk: Path  # /dev/vda, /dev/mmcblk0
    device: Path  # /dev/vda3
    number: int
    start: int
    sectors: int
    disk_sectors: int


def partition_of(path: Path, sys_block: Path = Path("/sys/dev/block")) -> BlockPartition:
    """The partition a mounted directory lives on, from sysfs (the kernel's view of the table)."""
    dev = os.stat(path).st_dev
    node = (sys_block / f"{os.major(dev)}:{os.minor(dev)}").resolve()
    if not (node / "partition").exists():
        raise GrowError(f"{path} is not on a disk partition")

    def number(file: Path) -> int:
        return int(file.read_text().strip())

    return BlockPartition(Path("/dev") / node.parent.name, Path("/dev") / node.name, number(node / "partition"),
                          number(node / "start"), number(node / "size"), number(node.parent / "size"))


def blkpg_resize_request(number: int, start: int, sectors: int) -> bytes:
    """struct blkpg_partition (start and length in bytes, the partition number, empty names)."""
    return struct.pack("qqi64s64s4x", start * SECTOR, sectors * SECTOR, number, b"", b"")


def resize_kernel_partition(disk: Path, number: int, start: int, sectors: int) -> None:
    """Tell the kernel the partition's new length in place (BLKPG_RESIZE_PARTITION, what util-linux's
    resizepart does; that tool is in util-linux-extra, not in the image), so the mounted filesystem can grow
    online. The table on disk is already written."""
    request = ctypes.create_string_buffer(blkpg_resize_request(number, start, sectors))
    argument = struct.pack("iiiP", BLKPG_RESIZE_PARTITION, 0, len(request.raw), ctypes.addressof(request))
    fd = os.open(disk, os.O_RDONLY)
    try:
        fcntl.ioctl(fd, BLKPG, argument)
    finally:
        os.close(fd)


def grow(mountpoint: Path, log=print) -> bool:
    """Grow the partition under ``mountpoint`` and its ext4 (online) to the end of the card. True if grown."""
    part = partition_of(mountpoint)
    with open(part.disk, "rb") as disk:
        mbr = disk.read(SECTOR)
    entry = {e.number: e for e in read_table(mbr)}.get(part.number)
    if entry is None or (entry.start, entry.sectors) != (part.start, part.sectors):
        raise GrowError(f"the MBR of {part.disk} disagrees with the kernel about partition {part.number}")
    sectors = grown_sectors(mbr, part.number, part.disk_sectors)
    if sectors is None:
        # Also the boot after a power cut between the table and the filesystem: the filesystem catches up.
        subprocess.run(["resize2fs", str(part.device)], check=True, capture_output=True)
        log(f"data partition {part.device} already fills {part.disk}")
        return False
    fd = os.open(part.disk, os.O_WRONLY | os.O_SYNC)
    try:
        os.pwrite(fd, patch(mbr, part.number, sectors), 0)
        os.fsync(fd)
    finally:
        os.close(fd)
    resize_kernel_partition(part.disk, part.number, part.start, sectors)
    subprocess.run(["resize2fs", str(part.device)], check=True, capture_output=True)
    log(f"data partition {part.device} grown from {part.sectors * SECTOR >> 20} MiB to "
        f"{sectors * SECTOR >> 20} MiB")
    return True
