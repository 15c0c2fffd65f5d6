"""Stage 7: what lands in out/ next to NAME.img — NAME.img.xz, NAME.bmap, NAME.sha256, NAME.manifest.json,
NAME.vmlinuz and NAME.initrd (the image's own kernel and initrd, for QEMU boot tests and the HIL harness)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evy.files import atomic_write, sha256_file
from evyimage.progress import BuildLog


@dataclass(frozen=True)
class OutputPaths:
    out_dir: Path
    name: str

    def path(self, suffix: str) -> Path:
        return self.out_dir / f"{self.name}{suffix}"

    @property
    def image(self) -> Path:
        return self.path(".img")

    @property
    def xz(self) -> Path:
        return self.path(".img.xz")

    @property
    def bmap(self) -> Path:
        return self.path(".bmap")

    @property
    def sha256(self) -> Path:
        return self.path(".sha256")

    @property
    def manifest(self) -> Path:
        return self.path(".manifest.json")

    @property
    def kernel(self) -> Path:
        return self.path(".vmlinuz")

    @property
    def initrd(self) -> Path:
        return self.path(".initrd")

    @property
    def log(self) -> Path:
        return self.path(".build.log")


def source_date_epoch(repo: Path) -> int:
    """SOURCE_DATE_EPOCH from the environment, else the time of the repository's last commit."""
    if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        return int(os.environ["SOURCE_DATE_EPOCH"])
    try:
        out = subprocess.run(["git", "-C", str(repo), "log", "-1", "--format=%ct"], capture_output=True,
                             text=True, check=True).stdout.strip()
        return int(out)
    except (OSError, subprocess.CalledProcessError, ValueError):
        return 0


def git_describe(repo: Path) -> dict[str, Any]:
    try:
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--", "agent", "image",
                                     "overlays", "models.lock"], capture_output=True, text=True).stdout.strip())
        return {"commit": commit, "dirty": dirty}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}


def export_boot(kernel: Path, initrd: Path, paths: OutputPaths) -> None:
    shutil.copyfile(kernel, paths.kernel)
    shutil.copyfile(initrd, paths.initrd)


def compress(paths: OutputPaths, log: BuildLog, level: int = 1) -> None:
    paths.xz.unlink(missing_ok=True)
    # Low levels: most of the content (models, .ko.xz modules, firmware) is compressed already, so -6 costs
    # minutes for a few per cent.
    log.run(["xz", "--keep", "--force", f"-{level}", "-T0", paths.image])


def bmap(paths: OutputPaths, log: BuildLog) -> None:
    log.run(["bmaptool", "create", "-o", paths.bmap, paths.image])


def checksums(paths: OutputPaths) -> dict[str, str]:
    sums = {p.name: sha256_file(p) for p in (paths.image, paths.xz, paths.kernel, paths.initrd) if p.exists()}
    paths.sha256.write_text("".join(f"{digest}  {name}\n" for name, digest in sums.items()), encoding="utf-8")
    return sums


def write_manifest(paths: OutputPaths, manifest: dict[str, Any]) -> None:
    atomic_write(paths.manifest, json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n", mode=0o644)
