"""What any process on the kit can read about it: memory, the data partition, uptime, the clock's sync."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from dataclasses import dataclass
from pathlib import Path

from evy.power.memory import MEMINFO, available_mb, total_mb

UPTIME = Path("/proc/uptime")
TIME_ERROR = 5  # adjtimex(2): the clock is not synchronised (STA_UNSYNC)
_TIMEX_BYTES = 512  # larger than struct timex on every Linux ABI; modes 0 (read only) is its first field


@dataclass(frozen=True)
class Disk:
    path: str
    total_bytes: int
    free_bytes: int

    @property
    def used_pct(self) -> float:
        return 0.0 if not self.total_bytes else round(100.0 * (1 - self.free_bytes / self.total_bytes), 1)


@dataclass(frozen=True)
class Memory:
    total_mb: int | None
    available_mb: int | None


def disk(path: Path) -> Disk | None:
    try:
        stat = os.statvfs(path)
    except OSError:
        return None
    return Disk(str(path), stat.f_blocks * stat.f_frsize, stat.f_bavail * stat.f_frsize)


def memory(meminfo: Path = MEMINFO) -> Memory:
    return Memory(total_mb(meminfo), available_mb(meminfo))


def uptime_s(path: Path = UPTIME) -> float | None:
    try:
        return float(path.read_text("ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return None


def clock_synchronised() -> bool | None:
    """Whether the kernel says the clock is synchronised (NTP, GPS or a set RTC); None where it cannot be
    asked. A Pi has no RTC: until something sets the time, message times and case ages are wrong."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        buffer = ctypes.create_string_buffer(_TIMEX_BYTES)  # zeroed: modes = 0 reads without changing
        state = libc.adjtimex(buffer)
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != TIME_ERROR
