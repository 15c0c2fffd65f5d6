"""Stage 6: the disk image from three filesystem images, with no loop device and no mount:
FAT boot (mkfs.vfat + mcopy), ext4 root and data (``mke2fs -d``), an MBR written by sfdisk on a plain file,
and the filesystems copied in sparsely."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from evyimage.errors import StageError
from evyimage.overlays import BOOT_LABEL, DATA_LABEL, ROOT_LABEL
from evyimage.progress import BuildLog

MIB = 1024 * 1024
SECTOR = 512
FIRST_OFFSET_MIB = 4  # room for the MBR and alignment to SD erase blocks
_BLOCK = 4 * MIB


@dataclass(frozen=True)
class Partition:
    label: str
    mbr_type: str  # sfdisk type: c = FAT32 LBA, 83 = Linux
    image: Path
    size_mib: int
    bootable: bool = False


@dataclass(frozen=True)
class Layout:
    partitions: tuple[Partition, ...]
    disk_id: int

    @property
    def total_mib(self) -> int:
        return FIRST_OFFSET_MIB + sum(p.size_mib for p in self.partitions)

    def offsets_mib(self) -> list[int]:
        offsets, position = [], FIRST_OFFSET_MIB
        for part in self.partitions:
            offsets.append(position)
            position += part.size_mib
        return offsets


def tree_size_mib(tree: Path) -> int:
    """Disk usage of a tree in MiB, counting each hard-linked inode once and a block per small file."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for folder, dirs, files in os.walk(tree):
        for name in (*dirs, *files):
            stat = os.lstat(os.path.join(folder, name))
            if (stat.st_dev, stat.st_ino) in seen:
                continue
            seen.add((stat.st_dev, stat.st_ino))
            total += max(stat.st_blocks * 512, 4096)
    return -(-total // MIB)


def root_size_mib(tree: Path, fixed_mib: int, headroom_mib: int) -> int:
    if fixed_mib:
        need = tree_size_mib(tree) * 110 // 100
        if fixed_mib < need:
            raise StageError(f"partitions.root_mib = {fixed_mib} is too small: the root needs about {need} MiB")
        return fixed_mib
    # ext4 metadata (inode tables, journal) is about 5-8 % at these sizes.
    return (tree_size_mib(tree) * 112 // 100 + headroom_mib + 15) // 16 * 16


def _fixed_mtimes(folder: Path, epoch: int) -> None:
    for path in [folder, *folder.rglob("*")]:
        os.utime(path, (epoch, epoch), follow_symlinks=False)


def make_fat(source: Path, image: Path, size_mib: int, label: str, volume_id: int, epoch: int,
             log: BuildLog) -> None:
    image.unlink(missing_ok=True)
    log.run(["mkfs.vfat", "-F", "32", "-n", label, "-i", f"{volume_id:08x}", "-C", image, str(size_mib * 1024)],
            env={"SOURCE_DATE_EPOCH": str(epoch)})
    _fixed_mtimes(source, epoch)
    entries = sorted(source.iterdir())
    if entries:
        log.run(["mcopy", "-s", "-p", "-m", "-Q", "-i", image, *entries, "::/"], env={"MTOOLS_SKIP_CHECK": "1"})


def make_ext4(source: Path, image: Path, size_mib: int, label: str, uuid: str, epoch: int, log: BuildLog,
              root_owner: str = "0:0") -> None:
    image.unlink(missing_ok=True)
    log.run(["mke2fs", "-q", "-F", "-t", "ext4", "-L", label, "-U", uuid, "-d", source,
             "-E", f"root_owner={root_owner},hash_seed={uuid},lazy_itable_init=0",
             "-m", "1", "-b", "4096", image, f"{size_mib}M"],
            env={"E2FSPROGS_FAKE_TIME": str(epoch), "SOURCE_DATE_EPOCH": str(epoch)})
    # A volume made by `-d` is consistent by construction; e2fsck proves it before it goes on a card.
    check = subprocess.run(["e2fsck", "-fn", str(image)], capture_output=True, text=True)
    log.note(check.stdout + check.stderr)
    if check.returncode != 0:
        raise StageError(f"e2fsck found problems in {image.name} (exit {check.returncode}); see the log")


def sfdisk_script(layout: Layout) -> str:
    lines = ["label: dos", f"label-id: 0x{layout.disk_id:08x}", "unit: sectors", ""]
    for part, offset in zip(layout.partitions, layout.offsets_mib(), strict=True):
        bootable = ", bootable" if part.bootable else ""
        lines.append(f"start={offset * MIB // SECTOR}, size={part.size_mib * MIB // SECTOR}, "
                     f"type={part.mbr_type}{bootable}")
    return "\n".join(lines) + "\n"


def _copy_sparse(source: Path, target: Path, offset: int) -> None:
    with source.open("rb") as src, target.open("r+b") as dst:
        position = offset
        while block := src.read(_BLOCK):
            if block.count(0) != len(block):
                dst.seek(position)
                dst.write(block)
            position += len(block)


def assemble(layout: Layout, image: Path, log: BuildLog) -> None:
    for part in layout.partitions:
        actual = part.image.stat().st_size
        if actual > part.size_mib * MIB:
            raise StageError(f"{part.label}: filesystem image is {actual} bytes, larger than its partition")
    image.unlink(missing_ok=True)
    with image.open("wb") as handle:
        handle.truncate(layout.total_mib * MIB)
    if shutil.which("sfdisk") is None:
        raise StageError("sfdisk is missing (apt install fdisk)")
    log.run(["sfdisk", "--no-reread", "--no-tell-kernel", "--wipe", "always", image],
            input_text=sfdisk_script(layout))
    for part, offset in zip(layout.partitions, layout.offsets_mib(), strict=True):
        _copy_sparse(part.image, image, offset * MIB)


def read_table(image: Path) -> list[dict[str, int | str]]:
    """The partitions as sfdisk reads them back (start and size in sectors, type)."""
    import json

    out = subprocess.run(["sfdisk", "--json", str(image)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)["partitiontable"]["partitions"]


LABELS = (BOOT_LABEL, ROOT_LABEL, DATA_LABEL)
