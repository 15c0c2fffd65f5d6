"""Benchmarks: each module has ``run(quick: bool) -> dict`` of JSON figures (medians, baselines)."""
