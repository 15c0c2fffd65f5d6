"""Stage 4: lay the overlay folders over the root, rendering ``{{ name }}`` in text files from the profile."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from evyimage.errors import StageError
from evyimage.profile import Profile

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
BOOT_LABEL, ROOT_LABEL, DATA_LABEL = "EVYBOOT", "EVYROOT", "EVYDATA"


def variables(profile: Profile) -> dict[str, str]:
    return {
        "hostname": profile["image.hostname"],
        "image_name": profile.name,
        "data_dir": str(profile["agent.config"].get("data_dir", "/var/lib/evy")),
        "boot_label": BOOT_LABEL,
        "root_label": ROOT_LABEL,
        "data_label": DATA_LABEL,
    }


def render(text: str, values: Mapping[str, str], origin: str) -> str:
    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise StageError(f"{origin}: unknown overlay variable {{{{ {name} }}}} "
                             f"(known: {', '.join(sorted(values))})")
        return values[name]

    return _VARIABLE.sub(substitute, text)


def apply(source: Path, tree: Path, values: Mapping[str, str]) -> list[str]:
    """Copy one overlay folder into the tree; returns the image paths written."""
    if not source.is_dir():
        raise StageError(f"overlay folder {source} does not exist")
    written = []
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        target = tree / rel
        if path.is_dir() and not path.is_symlink():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.exists():
            target.unlink()
        if path.is_symlink():
            target.symlink_to(os.readlink(path))
        else:
            data = path.read_bytes()
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                shutil.copyfile(path, target)
            else:
                target.write_text(render(text, values, str(path)), encoding="utf-8")
            mode = path.stat().st_mode & 0o777
            target.chmod(0o755 if mode & 0o111 else 0o644)
        if os.geteuid() == 0:
            os.lchown(target, 0, 0)
        written.append("/" + str(rel))
    return written


def apply_all(profile: Profile, repo: Path, tree: Path) -> list[str]:
    values = variables(profile)
    written: list[str] = []
    for folder in profile["overlays.dirs"]:
        written += apply(repo / folder, tree, values)
    return written
