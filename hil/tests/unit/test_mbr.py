"""The MBR reader that finds the boot partition inside a card image."""

from __future__ import annotations

import pytest
from evyhil import mbr
from evyhil.errors import ImageError
from hypothesis import given
from hypothesis import strategies as st

partition_entries = st.builds(
    mbr.Partition,
    number=st.integers(1, 4),
    type_id=st.integers(1, 255),
    first_lba=st.integers(0, 2**32 - 1),
    sectors=st.integers(1, 2**32 - 1),
    bootable=st.booleans(),
)


@given(st.lists(partition_entries, min_size=1, max_size=4, unique_by=lambda p: p.number))
def test_build_then_parse_round_trips(partitions):
    parsed = mbr.parse(mbr.build(partitions))
    assert parsed == sorted(partitions, key=lambda p: p.number)


@given(st.binary(min_size=512, max_size=512))
def test_arbitrary_sectors_parse_or_fail_cleanly(sector):
    try:
        partitions = mbr.parse(sector)
    except ImageError:
        return
    assert all(p.sectors > 0 and p.type_id for p in partitions)


def test_boot_partition_is_the_first_fat_one():
    sector = mbr.build([
        mbr.Partition(1, 0x0C, 8192, 524288, bootable=True),
        mbr.Partition(2, 0x83, 532480, 4194304),
        mbr.Partition(3, 0x83, 4726784, 1048576),
    ])
    boot = mbr.boot_partition(sector)
    assert (boot.number, boot.offset, boot.size) == (1, 8192 * 512, 524288 * 512)


@pytest.mark.parametrize(("sector", "message"), [
    (b"\0" * 100, "first sector is 100 bytes"),
    (b"\0" * 512, "signature"),
    (mbr.build([]), "empty"),
    (mbr.build([mbr.Partition(1, 0x83, 2048, 100)]), "no FAT boot partition"),
])
def test_unusable_tables_are_one_line_errors(sector, message):
    with pytest.raises(ImageError, match=message):
        mbr.boot_partition(sector)
