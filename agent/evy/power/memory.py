"""Free memory as the kernel estimates it: ``MemAvailable`` in /proc/meminfo (what can be allocated without
swapping, page cache included)."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("evy.power")

MEMINFO = Path("/proc/meminfo")


def available_mb(meminfo: Path = MEMINFO) -> int | None:
    """MemAvailable in MiB, or None (with one warning line) where the file is missing or malformed."""
    try:
        with meminfo.open(encoding="ascii") as lines:
            for line in lines:
                if line.startswith("MemAvailable:"):
                    fields = line.split()
                    if len(fields) < 2 or not fields[1].isdigit() or fields[2:] not in ([], ["kB"]):
                        raise ValueError(f"unexpected line {line.strip()!r}")
                    return int(fields[1]) // 1024
        raise ValueError("no MemAvailable line")
    except (OSError, ValueError) as exc:
        log.warning("free memory unknown: %s: %s", meminfo, getattr(exc, "strerror", None) or exc)
        return None
