"""What resource awareness costs a message: a sysfs battery read, /proc/meminfo, the policy, and the cached
budget the brain asks for in ``respond()`` (target: far below the 100 ms immediate-reply budget)."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _micros(fn: Callable[[], object], repeat: int) -> dict:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1e6)
    samples.sort()
    return {"median_us": round(statistics.median(samples), 2), "p95_us": round(samples[int(0.95 * len(samples))], 2)}


def run(quick: bool) -> dict:
    from evy.config import parse
    from evy.power import ResourceMonitor, Resources, decide
    from evy.power.memory import available_mb
    from evy.power.reading import PowerReading
    from evy.power.sim import SimulatedSource
    from evy.power.sysfs import SysfsSource

    repeat = 200 if quick else 5000
    config = parse("")
    with tempfile.TemporaryDirectory() as tmp:
        battery = Path(tmp) / "BAT0"
        battery.mkdir()
        for name, value in (("type", "Battery"), ("status", "Discharging"), ("capacity", "57"),
                            ("voltage_now", "12310000"), ("current_now", "850000")):
            (battery / name).write_text(value + "\n")
        (Path(tmp) / "AC").mkdir()
        (Path(tmp) / "AC" / "type").write_text("Mains\n")
        (Path(tmp) / "AC" / "online").write_text("0\n")
        with SysfsSource(tmp) as sysfs:
            sysfs_read = _micros(sysfs.read, repeat)
    resources = Resources(PowerReading(source="bench", battery_pct=25), 900)
    monitor = ResourceMonitor(SimulatedSource(60), config)
    monitor.budget()
    uncached = ResourceMonitor(SimulatedSource(60), config, max_age=0)
    return {
        "sysfs_read": sysfs_read,
        "meminfo_read": _micros(available_mb, repeat),
        "decide": _micros(lambda: decide(resources, config), repeat),
        "budget_cached": _micros(monitor.budget, repeat),
        "budget_uncached_sim": _micros(uncached.budget, repeat),
        "repeat": repeat,
    }
