"""EVY's image builder: a validated profile → a read-only Raspberry Pi 4 SD card image, without loop mounts.

Stages, one module each, run in order by :mod:`evyimage.pipeline`:
base (mmdebstrap, cached) → customise (hooks) → agent (offline install) → overlays → bootfiles (checks)
→ partitions (mkfs.vfat + mtools, mke2fs -d, sfdisk) → outputs (xz, bmap, sha256, manifest).
"""

__version__ = "0.1.0"
