"""Tests of the image builder (image/evyimage): the parts that run without mmdebstrap, QEMU or network."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
for folder in (REPO / "image", REPO / "overlays/rootfs/usr/lib/evy-image"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
