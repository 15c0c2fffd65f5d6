"""Benchmarks: each module has ``run(quick: bool) -> dict`` of JSON figures (medians, baselines)."""

import statistics
import time
from collections.abc import Callable


def median_us(action: Callable[[], object], repeats: int, inner: int) -> float:
    """Median microseconds per call of ``action``, over ``repeats`` timings of ``inner`` calls each."""
    samples = []
    for _ in range(repeats):
        started = time.perf_counter_ns()
        for _ in range(inner):
            action()
        samples.append((time.perf_counter_ns() - started) / inner / 1000)
    return round(statistics.median(samples), 2)
