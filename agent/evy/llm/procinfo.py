"""Memory figures from /proc: a process's resident set, and what the system can still give."""

from __future__ import annotations


def _field_kib(path: str, name: str) -> int | None:
    try:
        with open(path, encoding="ascii") as table:
            for line in table:
                if line.startswith(name):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_bytes(pid: int | str = "self") -> int:
    """Resident memory of a process (0 where /proc is unavailable or the process is gone)."""
    kib = _field_kib(f"/proc/{pid}/status", "VmRSS:")
    return kib * 1024 if kib is not None else 0


def available_memory() -> int | None:
    """MemAvailable in bytes (None where /proc/meminfo cannot be read)."""
    kib = _field_kib("/proc/meminfo", "MemAvailable:")
    return kib * 1024 if kib is not None else None
