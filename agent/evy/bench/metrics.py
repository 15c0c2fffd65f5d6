"""What the console's machine endpoints cost with a full store (10,000 cases, 20,000 messages and replies):
a /metrics scrape, the kit's health, /health, and the node_exporter textfile the agent rewrites."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _millis(action: Callable[[], object], repeat: int) -> dict:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"median_ms": round(statistics.median(samples), 2), "p95_ms": round(samples[int(0.95 * len(samples))], 2)}


def run(quick: bool) -> dict:
    from evy.config import parse
    from evy.health import collect
    from evy.health.monitor import health_json
    from evy.metrics.collector import render
    from evy.metrics.textfile import write_textfile
    from evy.store import Store, sample

    cases, repeat = (1000, 10) if quick else (10_000, 30)
    with tempfile.TemporaryDirectory() as tmp:
        config = parse(f'data_dir = "{tmp}"')
        with Store.open(Path(tmp) / "evy.db") as store:
            sample.fill(store, cases, now=time.time())
            size = len(render(store, config))
            return {
                "cases": cases, "repeat": repeat, "metrics_bytes": size,
                "metrics_scrape": _millis(lambda: render(store, config), repeat),
                "health_collect": _millis(lambda: collect(store, config), repeat),
                "health_json": _millis(lambda: health_json(store, config), repeat),
                "textfile_write": _millis(lambda: write_textfile(store, config, Path(tmp) / "evy.prom"), repeat),
            }
