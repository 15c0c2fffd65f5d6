"""Finding the block map that belongs to an image, the way `invoke build-image` names it."""

from __future__ import annotations

from pathlib import Path


def find_bmap(image: str | Path) -> Path | None:
    """``out/NAME.bmap`` (the image builder's name), or bmaptool's own ``NAME.img.bmap``; None if neither.

    Compressed images (``NAME.img.xz``) find the same map: each suffix is stripped in turn.
    """
    path = Path(image)
    candidates = []
    stem = path
    while True:
        candidates.append(stem.with_name(stem.name + ".bmap"))
        if not stem.suffix:
            break
        stem = stem.with_suffix("")
    for candidate in dict.fromkeys(candidates):
        if candidate.is_file():
            return candidate
    return None


def bmaptool_copy_args(image: str | Path, destination: str) -> list[str]:
    bmap = find_bmap(image)
    args = ["copy", str(image), destination]
    return [*args, f"--bmap={bmap}"] if bmap else [*args, "--nobmap"]
