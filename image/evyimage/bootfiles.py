"""Stage 5: the Pi 4 boot partition's contents — written (cmdline.txt, the EVY part of config.txt) and then
checked: firmware pair, device tree, config.txt pointing at the installed kernel and initrd, cmdline.txt
with root by label, the same kernel/initrd bytes as /boot, and the overlay module inside the initramfs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from evyimage import initramfs
from evyimage.errors import BootFilesError
from evyimage.overlays import ROOT_LABEL

FIRMWARE_DIR = Path("boot/firmware")
PI4_FILES = ("start4.elf", "fixup4.dat", "bcm2711-rpi-4-b.dtb", "config.txt", "cmdline.txt")
# Pi 4 UART with Debian's upstream kernel is ttyS1 (mini UART) with the firmware's default; tty1 is HDMI.
CONSOLES = ("tty1", "ttyS1,115200")
EVY_CONFIG_MARK = "# --- EVY ---"
EVY_CONFIG = f"""{EVY_CONFIG_MARK}
# A field kit has no screen most of the time: no splash, no rainbow, serial console on.
disable_splash=1
enable_uart=1
"""


@dataclass(frozen=True)
class Kernel:
    version: str
    vmlinuz: Path  # in the tree's /boot
    initrd: Path


def installed_kernel(tree: Path) -> Kernel:
    kernels = sorted((tree / "boot").glob("vmlinuz-*"))
    if len(kernels) != 1:
        raise BootFilesError(f"expected exactly one kernel in /boot, found {len(kernels)}: "
                             f"{', '.join(k.name for k in kernels) or 'none'}")
    version = kernels[0].name.removeprefix("vmlinuz-")
    initrd = tree / "boot" / f"initrd.img-{version}"
    if not initrd.exists():
        raise BootFilesError(f"/boot/initrd.img-{version} is missing (update-initramfs failed in the base?)")
    return Kernel(version, kernels[0], initrd)


def cmdline(root: str = f"LABEL={ROOT_LABEL}", consoles: tuple[str, ...] = CONSOLES, extra: str = "") -> str:
    # No `ro`: the initramfs mounts the lower root read-only anyway, and with `ro` overlayroot would make the
    # overlay read-only too, waiting for systemd-remount-fs, which can't remount an overlay with its options.
    # `quiet`: nobody reads a field kit's console at boot, and at 115200 baud every kernel and systemd status
    # line is written synchronously before boot goes on; warnings and errors (and first boot's) still show.
    parts = [*(f"console={c}" for c in consoles), f"root={root}", "rootfstype=ext4", "rootwait",
             "fsck.repair=yes", "overlayroot=tmpfs:recurse=0", "net.ifnames=0", "quiet"]
    return " ".join(parts) + (f" {extra}" if extra else "") + "\n"


def write(boot_dir: Path, kernel: Kernel) -> None:
    """Our cmdline.txt, and config.txt = raspi-firmware's (kernel lines) + the EVY section."""
    (boot_dir / "cmdline.txt").write_text(cmdline(), encoding="utf-8")
    config = boot_dir / "config.txt"
    text = config.read_text(encoding="utf-8") if config.exists() else ""
    if EVY_CONFIG_MARK not in text:
        config.write_text(text.rstrip("\n") + "\n\n" + EVY_CONFIG, encoding="utf-8")


def _config_value(text: str, key: str) -> str | None:
    pattern = re.compile(rf"^\s*{key}[ =](\S+)", re.MULTILINE)
    match = pattern.search(text)
    return match.group(1) if match else None


def check(boot_dir: Path, kernel: Kernel) -> dict[str, str]:
    """Raise BootFilesError on the first problem; return a summary for the manifest."""
    for name in PI4_FILES:
        path = boot_dir / name
        if not path.is_file() or path.stat().st_size == 0:
            raise BootFilesError(f"boot partition: {name} is missing or empty (is raspi-firmware installed?)")
    config = (boot_dir / "config.txt").read_text(encoding="utf-8")
    kernel_name = _config_value(config, "kernel")
    initrd_name = _config_value(config, "initramfs")
    if "arm_64bit=1" not in config:
        raise BootFilesError("config.txt: arm_64bit=1 missing (the Pi would boot the kernel in 32-bit mode)")
    for what, name, source in (("kernel", kernel_name, kernel.vmlinuz), ("initramfs", initrd_name, kernel.initrd)):
        if not name:
            raise BootFilesError(f"config.txt: no {what} line")
        path = boot_dir / name
        if not path.is_file():
            raise BootFilesError(f"config.txt: {what} {name} is not on the boot partition")
        if path.read_bytes() != source.read_bytes():
            raise BootFilesError(f"boot partition: {name} differs from /boot/{source.name} (stale copy)")
        if kernel.version not in name:
            raise BootFilesError(f"config.txt: {what} {name} is not for the installed kernel {kernel.version}")
    line = (boot_dir / "cmdline.txt").read_text(encoding="utf-8")
    if "\n" in line.rstrip("\n"):
        raise BootFilesError("cmdline.txt: must be a single line")
    root = re.search(r"(?:^|\s)root=(\S+)", line)
    if not root or not root.group(1).startswith(("LABEL=", "PARTUUID=")):
        raise BootFilesError(f"cmdline.txt: root must be given by LABEL= or PARTUUID=, got {line.strip()!r}")
    if "overlayroot=tmpfs" not in line:
        raise BootFilesError("cmdline.txt: overlayroot=tmpfs missing (the root would be writable)")
    if " ro " in f" {line.strip()} ":
        raise BootFilesError("cmdline.txt: `ro` makes overlayroot leave the overlay read-only; leave it out")
    check_initramfs(kernel.initrd)
    return {"kernel": kernel.version, "config_kernel": kernel_name or "", "config_initramfs": initrd_name or "",
            "cmdline": line.strip()}


def check_initramfs(initrd: Path) -> list[str]:
    names = initramfs.list_files(initrd.read_bytes())
    wanted = {
        "the overlay module": lambda n: re.search(r"/kernel/fs/overlayfs/overlay\.ko(\.[a-z]+)?$", n),
        "overlayroot's init-bottom script": lambda n: n.endswith("scripts/init-bottom/overlayroot"),
        "grep (busybox; overlayroot needs it)": lambda n: n in ("bin/grep", "usr/bin/grep", "bin/busybox",
                                                                 "usr/bin/busybox"),
        "the ext4 module": lambda n: re.search(r"/ext4\.ko(\.[a-z]+)?$", n),
        "the virtio block module (QEMU boot test)": lambda n: re.search(r"/virtio_blk\.ko(\.[a-z]+)?$", n),
    }
    for what, test in wanted.items():
        if not any(test(n) for n in names):
            raise BootFilesError(f"initramfs {initrd.name}: {what} is missing")
    modules_conf = [n for n in names if n.endswith("conf/modules")]
    if not modules_conf:
        raise BootFilesError(f"initramfs {initrd.name}: no conf/modules (overlay is not force-loaded)")
    return names
