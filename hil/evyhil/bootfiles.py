"""What the Pi firmware would boot, read from the card image itself: kernel, initrd and command line.

QEMU's `virt` board has no Pi firmware, so the harness does the firmware's job: it reads config.txt on the
image's FAT partition (``kernel=``, ``initramfs ... followkernel``, as Debian's raspi-firmware writes
them), copies those two files out with mtools, and turns cmdline.txt into QEMU's ``-append`` (console on
the PL011, the SD card's device names mapped to the virtio disk). The image is booted as built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import ImageError
from .fatfs import BootPartition
from .mbr import SECTOR, boot_partition

# Sections of config.txt that apply to a Raspberry Pi 4 ([all] and no section included).
_PI4_SECTIONS = {"all", "pi4", "pi400", "cm4", "cm4s", "board-type=0x11", "board-type=0x13", "board-type=0x14"}


@dataclass(frozen=True)
class BootFiles:
    kernel: Path
    initrd: Path | None
    cmdline: str  # cmdline.txt as it is on the card


def pi4_boot_names(config_txt: str) -> tuple[str, str | None]:
    """(kernel, initramfs) file names a Pi 4 would load according to config.txt."""
    kernel, initrd = "kernel8.img", None  # the firmware's 64-bit default
    section = "all"
    for raw in config_txt.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"\[([^\]]+)\]", line)
        if match:
            section = match.group(1).strip().lower()
            continue
        if section not in _PI4_SECTIONS:
            continue
        if line.startswith("kernel="):
            kernel = line.removeprefix("kernel=").strip()
        elif line.startswith("initramfs "):
            fields = line.split()
            if len(fields) >= 2:
                initrd = fields[1]
    return kernel, initrd


def qemu_boot_args(cmdline: str, console: str = "ttyAMA0") -> str:
    """cmdline.txt for QEMU `virt`: the console on its PL011, mmcblk0pN → vdaN; everything else kept."""
    args = []
    for arg in cmdline.split():  # kept verbatim: the kernel, not a shell, reads its quotes
        if arg.startswith("console="):
            continue
        args.append(re.sub(r"/dev/mmcblk0p(\d+)", r"/dev/vda\1", arg))
    return " ".join([f"console={console}", *args])


def read_boot_partition(image: Path) -> BootPartition:
    try:
        with open(image, "rb") as disk:
            sector0 = disk.read(SECTOR)
    except OSError as exc:
        raise ImageError(f"cannot read {image}: {exc.strerror}") from exc
    return BootPartition(str(image), boot_partition(sector0).offset)


def extract(image: Path, dest: Path) -> BootFiles:
    """Copy the kernel and initrd the image's config.txt names into ``dest``."""
    if image.suffix in (".xz", ".gz", ".zst", ".bz2"):
        raise ImageError(f"{image} is compressed: give the raw NAME.img that `invoke build-image` writes")
    boot = read_boot_partition(image)
    names = set(boot.listdir())
    for required in ("config.txt", "cmdline.txt"):
        if required not in names:
            raise ImageError(f"{image}: the boot partition has no {required}")
    kernel_name, initrd_name = pi4_boot_names(boot.read("config.txt").decode(errors="replace"))
    dest.mkdir(parents=True, exist_ok=True)
    if kernel_name not in names:
        raise ImageError(f"{image}: config.txt names kernel {kernel_name}, which is not on the boot partition")
    kernel = dest / "kernel"
    kernel.write_bytes(boot.read(kernel_name))
    initrd = None
    if initrd_name is not None:
        if initrd_name not in names:
            raise ImageError(f"{image}: config.txt names initramfs {initrd_name}, which is not on the boot partition")
        initrd = dest / "initrd"
        initrd.write_bytes(boot.read(initrd_name))
    return BootFiles(kernel, initrd, boot.read("cmdline.txt").decode(errors="replace").strip())
