"""Free memory as the kernel estimates it: ``MemAvailable`` in /proc/meminfo (what can be allocated without
swapping, page cache included); ``MemTotal`` for the kit's health page."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("evy.power")

MEMINFO = Path("/proc/meminfo")


def available_mb(meminfo: Path = MEMINFO) -> int | None:
    """MemAvailable in MiB, or None (with one warning line) where the file is missing or malformed."""
    return _field_mb(meminfo, "MemAvailable", "free memory")


def total_mb(meminfo: Path = MEMINFO) -> int | None:
    """MemTotal in MiB, or None (with one warning line) where the file is missing or malformed."""
    return _field_mb(meminfo, "MemTotal", "total memory")


def _field_mb(meminfo: Path, name: str, what: str) -> int | None:
    try:
        with meminfo.open(encoding="ascii") as lines:
            for line in lines:
                if line.startswith(f"{name}:"):
                    fields = line.split()
                    if len(fields) < 2 or not fields[1].isdigit() or fields[2:] not in ([], ["kB"]):
                        raise ValueError(f"unexpected line {line.strip()!r}")
                    return int(fields[1]) // 1024
        raise ValueError(f"no {name} line")
    except (OSError, ValueError) as exc:
        log.warning("%s unknown: %s: %s", what, meminfo, getattr(exc, "strerror", None) or exc)
        return None
