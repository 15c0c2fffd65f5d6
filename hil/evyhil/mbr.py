"""The MBR partition table of a card image: where the FAT boot partition starts.

Images are assembled with sfdisk on a plain file (docs/image.md), so a DOS label with primary partitions
is all the harness needs to read. Offsets let mtools reach the boot partition inside a whole-disk image
or card (``mtools -i DISK@@OFFSET``) with no loop device and no mount.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import ImageError

SECTOR = 512
_TABLE_OFFSET = 0x1BE
_ENTRY = struct.Struct("<B3sB3sII")  # status, CHS first, type, CHS last, first LBA, sector count
_SIGNATURE = b"\x55\xaa"
FAT_TYPES = frozenset({0x01, 0x04, 0x06, 0x0B, 0x0C, 0x0E, 0xEF})


@dataclass(frozen=True)
class Partition:
    number: int  # 1..4
    type_id: int
    first_lba: int
    sectors: int
    bootable: bool = False

    @property
    def offset(self) -> int:
        return self.first_lba * SECTOR

    @property
    def size(self) -> int:
        return self.sectors * SECTOR

    @property
    def is_fat(self) -> bool:
        return self.type_id in FAT_TYPES


def parse(sector0: bytes) -> list[Partition]:
    """The used primary partitions of an MBR, in table order."""
    if len(sector0) < SECTOR:
        raise ImageError(f"no partition table: the first sector is {len(sector0)} bytes, not {SECTOR}")
    if sector0[510:512] != _SIGNATURE:
        raise ImageError("no DOS partition table (MBR signature 55AA missing)")
    partitions = []
    for index in range(4):
        start = _TABLE_OFFSET + index * _ENTRY.size
        status, _, type_id, _, first_lba, sectors = _ENTRY.unpack_from(sector0, start)
        if type_id == 0 or sectors == 0:
            continue
        if status not in (0x00, 0x80):
            raise ImageError(f"partition {index + 1}: invalid status byte 0x{status:02x}")
        partitions.append(Partition(index + 1, type_id, first_lba, sectors, bootable=status == 0x80))
    if not partitions:
        raise ImageError("the partition table is empty")
    return partitions


def build(partitions: list[Partition]) -> bytes:
    """An MBR sector holding ``partitions`` (the inverse of :func:`parse`; used for test images)."""
    sector = bytearray(SECTOR)
    for partition in partitions:
        if not 1 <= partition.number <= 4:
            raise ImageError(f"partition number {partition.number} is not 1..4")
        start = _TABLE_OFFSET + (partition.number - 1) * _ENTRY.size
        chs_unused = b"\xff\xff\xff"  # LBA addressing; the same filler sfdisk writes past 8 GiB
        status = 0x80 if partition.bootable else 0x00
        _ENTRY.pack_into(sector, start, status, chs_unused, partition.type_id, chs_unused,
                         partition.first_lba, partition.sectors)
    sector[510:512] = _SIGNATURE
    return bytes(sector)


def boot_partition(sector0: bytes) -> Partition:
    """The first FAT partition: where the Pi firmware, cmdline.txt and the kit seed live."""
    for partition in parse(sector0):
        if partition.is_fat:
            return partition
    raise ImageError("no FAT boot partition in the partition table")
