"""What the build host must have: tools on PATH, root (for file ownership, never for mounts), and binfmt."""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path

from evyimage.errors import HostError

# Debian host packages the build and the boot test need; `invoke setup-host` installs them.
HOST_PACKAGES = (
    "mmdebstrap", "qemu-user-static", "binfmt-support", "arch-test", "qemu-system-arm", "mtools", "dosfstools",
    "e2fsprogs", "fdisk", "bmap-tools", "xz-utils", "zstd", "crossbuild-essential-arm64", "cmake",
    "python3-pip", "debian-archive-keyring", "ca-certificates",
)
# tool → the package that has it
TOOLS = {
    "mmdebstrap": "mmdebstrap", "mkfs.vfat": "dosfstools", "mcopy": "mtools", "mmd": "mtools",
    "mke2fs": "e2fsprogs", "sfdisk": "fdisk", "bmaptool": "bmap-tools", "xz": "xz-utils", "zstd": "zstd",
}
CROSS_TOOLS = {"aarch64-linux-gnu-gcc": "crossbuild-essential-arm64", "cmake": "cmake"}
BOOT_TEST_TOOLS = {"qemu-system-aarch64": "qemu-system-arm"}
BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")


def missing_tools(tools: dict[str, str]) -> list[str]:
    return [f"{tool} (package {pkg})" for tool, pkg in tools.items() if shutil.which(tool) is None]


def require_tools(tools: dict[str, str]) -> None:
    missing = missing_tools(tools)
    if missing:
        raise HostError(f"missing host tools: {', '.join(missing)}; run `invoke setup-host`")


def needs_emulation(arch: str = "arm64") -> bool:
    return not (arch == "arm64" and platform.machine() in ("aarch64", "arm64"))


def binfmt_state(binfmt_dir: Path = BINFMT_DIR) -> str:
    """'enabled', or why arm64 binaries can't run here."""
    entry = binfmt_dir / "qemu-aarch64"
    if not (binfmt_dir / "status").exists():
        return "binfmt_misc is not mounted"
    if not entry.exists():
        return "no qemu-aarch64 binfmt handler is registered"
    text = entry.read_text(encoding="utf-8", errors="replace")
    if not text.startswith("enabled"):
        return "the qemu-aarch64 binfmt handler is disabled"
    interpreter = next((ln.split(None, 1)[1] for ln in text.splitlines() if ln.startswith("interpreter ")), "")
    if interpreter and not Path(interpreter).exists():
        return f"the qemu-aarch64 interpreter {interpreter} is missing"
    if "F" not in next((ln for ln in text.splitlines() if ln.startswith("flags:")), ""):
        return "the qemu-aarch64 handler lacks the F (fix binary) flag needed inside a chroot"
    return "enabled"


def require_binfmt(binfmt_dir: Path = BINFMT_DIR) -> None:
    state = binfmt_state(binfmt_dir)
    if state != "enabled":
        raise HostError(
            f"cannot run arm64 programs on this {platform.machine()} host: {state}; install qemu-user-static "
            "and binfmt-support and run `invoke setup-host` (it mounts binfmt_misc and enables qemu-aarch64)")


def require_root() -> None:
    if os.geteuid() != 0:
        raise HostError("the image build needs root for file ownership in the root tree (it mounts nothing); "
                        "run it with sudo")


def check_build_host(arch: str = "arm64", *, cross: bool = True) -> None:
    require_root()
    require_tools(TOOLS | (CROSS_TOOLS if cross else {}))
    if needs_emulation(arch):
        require_binfmt()
