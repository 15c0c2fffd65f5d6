"""`invoke flash`: write the image to an SD card with bmaptool, refusing anything that could be the host's own
disk — a mounted disk, one holding swap or a device-mapper/RAID member, a partition, a non-block path — and
only after the user types the device name back."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from evyimage.errors import FlashError


@dataclass(frozen=True)
class HostState:
    """What the refusal logic looks at; `current()` reads it from the running system."""

    sysfs: Path = Path("/sys")
    mountinfo: str = ""
    swaps: str = ""

    @classmethod
    def current(cls) -> HostState:
        return cls(Path("/sys"), Path("/proc/self/mountinfo").read_text(encoding="utf-8"),
                   Path("/proc/swaps").read_text(encoding="utf-8") if Path("/proc/swaps").exists() else "")


def _dev_numbers(sys_block: Path) -> str:
    return (sys_block / "dev").read_text(encoding="utf-8").strip()


def _partitions(sys_block: Path) -> list[Path]:
    return [p for p in sys_block.iterdir() if (p / "partition").exists()]


def check_device(device: Path, image_size: int, host: HostState,
                 is_block: Callable[[Path], bool] | None = None) -> dict[str, str]:
    """Raise FlashError unless the device is a whole, unused, big-enough disk; return facts to show the user."""
    is_block = is_block or _is_block_device
    if not is_block(device):
        raise FlashError(f"{device} is not a block device")
    name = Path(os.path.realpath(device)).name if device.is_symlink() else device.name
    sys_block = host.sysfs / "class" / "block" / name
    if not sys_block.exists():
        raise FlashError(f"{device}: no {sys_block} (not a disk the kernel knows)")
    if (sys_block / "partition").exists():
        parent = sys_block.resolve().parent.name
        raise FlashError(f"{device} is a partition; give the whole disk (/dev/{parent})")
    if name.startswith(("loop", "dm-", "md", "zram", "ram", "nbd")):
        raise FlashError(f"{device} is a virtual device ({name}); refusing")
    numbers = {_dev_numbers(sys_block)} | {_dev_numbers(p) for p in _partitions(sys_block)}
    names = {name} | {p.name for p in _partitions(sys_block)}
    for line in host.mountinfo.splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[2] in numbers:
            raise FlashError(f"{device} is in use: {fields[4]} is mounted from it (the host's own disk?)")
    for line in host.swaps.splitlines()[1:]:
        if line.split() and Path(line.split()[0]).name in names:
            raise FlashError(f"{device} holds active swap ({line.split()[0]})")
    for holder_dir in [sys_block / "holders", *(p / "holders" for p in _partitions(sys_block))]:
        if holder_dir.exists() and any(holder_dir.iterdir()):
            holders = ", ".join(h.name for h in holder_dir.iterdir())
            raise FlashError(f"{device} is used by device-mapper/RAID ({holders})")
    sectors = int((sys_block / "size").read_text(encoding="utf-8").strip() or 0)
    size = sectors * 512
    if size == 0:
        raise FlashError(f"{device} has no medium (size 0): is the card inserted?")
    if size < image_size:
        raise FlashError(f"{device} is {size / 1e9:.1f} GB, smaller than the image ({image_size / 1e9:.1f} GB)")
    removable_file = sys_block / "removable"
    removable = removable_file.read_text(encoding="utf-8").strip() if removable_file.exists() else "0"
    model = ""
    for candidate in (sys_block / "device" / "model", sys_block / "device" / "name"):
        if candidate.exists():
            model = candidate.read_text(encoding="utf-8").strip()
            break
    return {"device": str(device), "name": name, "size_gb": f"{size / 1e9:.1f}", "removable": removable,
            "model": model}


def _is_block_device(path: Path) -> bool:
    try:
        return stat.S_ISBLK(os.stat(path).st_mode)
    except OSError:
        return False


def confirm(facts: dict[str, str], answer: str) -> None:
    """The user must type the device's name (e.g. `sdb`) exactly."""
    if answer.strip() not in (facts["name"], facts["device"]):
        raise FlashError(f"not confirmed (typed {answer.strip()!r}, expected {facts['name']!r}); nothing written")


def bmaptool_command(image: Path, bmap: Path, device: Path) -> list[str]:
    source = image.with_name(image.name + ".xz") if image.with_name(image.name + ".xz").exists() else image
    return ["bmaptool", "copy", "--bmap", str(bmap), str(source), str(device)]
