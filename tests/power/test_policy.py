"""The budget: battery and memory thresholds, unknown values, hysteresis, and the cached monitor."""

from __future__ import annotations

import logging

import pytest

from evy.power import Budget, ResourceMonitor, Resources, decide, open_monitor
from evy.power.memory import available_mb
from evy.power.reading import PowerReading
from evy.power.sim import SimulatedSource


def resources(pct: int | None, free_mb: int | None = 2000) -> Resources:
    return Resources(PowerReading(source="test", battery_pct=pct), free_mb)


@pytest.mark.parametrize(("pct", "free", "mode", "limited_by"), [
    (100, 2000, "full", None),
    (30, 2000, "full", None),
    (29, 2000, "rag-only", "battery"),
    (20, 2000, "rag-only", "battery"),
    (19, 2000, "templates-only", "battery"),
    (0, 2000, "templates-only", "battery"),
    (80, 299, "rag-only", "memory"),
    (80, 300, "full", None),
    (15, 100, "templates-only", "battery"),
    (None, 2000, "full", None),
    (None, None, "full", None),
    (80, None, "full", None),
])
def test_thresholds(power_config, pct, free, mode, limited_by):
    budget = decide(resources(pct, free), power_config())
    assert budget.mode == mode and budget.limited_by == limited_by
    assert budget.allow_llm is (mode == "full") and budget.allow_followup is (mode != "templates-only")
    assert "\n" not in budget.reason and (str(pct) in budget.reason if pct is not None else True)


def test_unknown_battery_says_so(power_config):
    assert decide(resources(None, None), power_config()).reason == "battery unknown, free memory unknown: model allowed"


def test_thresholds_come_from_the_config(power_config):
    config = power_config(llm_min_battery=50, templates_only_below=10, llm_min_free_mb=1000)
    assert decide(resources(45), config).mode == "rag-only"
    assert decide(resources(12), config).mode == "rag-only"
    assert decide(resources(9), config).mode == "templates-only"
    assert decide(resources(90, 999), config).reason == ("battery 90%, 999 MB free < 1000 MB: "
                                                         "knowledge-base follow-ups, no model")


def test_a_limit_lifts_only_above_the_threshold_plus_hysteresis(power_config):
    config = power_config(hysteresis_pct=3)
    budget: Budget | None = None
    modes = []
    for pct in (35, 29, 31, 32, 33, 19, 21, 22, 23, 30, 33):
        budget = decide(resources(pct), config, budget)
        modes.append(budget.mode)
    assert modes == ["full", "rag-only", "rag-only", "rag-only", "full", "templates-only", "templates-only",
                     "templates-only", "rag-only", "rag-only", "full"]


def test_a_memory_limit_adds_no_battery_hysteresis(power_config):
    previous = decide(resources(31, 100), power_config())
    assert previous.limited_by == "memory"
    assert decide(resources(31, 2000), power_config(), previous).mode == "full"


def test_monitor_caches_readings_and_counts_the_models_memory_as_free(power_config, meminfo):
    now = [0.0]
    source = SimulatedSource(80)
    monitor = ResourceMonitor(source, power_config(), meminfo=meminfo(250 * 1024), clock=lambda: now[0])
    assert monitor.budget().limited_by == "memory"
    assert monitor.budget(reclaimable_mb=100).mode == "full"
    source.set(10)
    assert monitor.snapshot().battery_pct == 80  # cached
    now[0] = 5.0
    assert monitor.budget(reclaimable_mb=100).mode == "templates-only"
    monitor.close()
    monitor.close()


def test_monitor_logs_each_change_of_mode_once(power_config, meminfo, caplog):
    now = [0.0]
    source = SimulatedSource(80)
    monitor = ResourceMonitor(source, power_config(), meminfo=meminfo(4_000_000), clock=lambda: now[0], max_age=0)
    with caplog.at_level(logging.INFO, logger="evy.power"):
        for pct in (80, 80, 25, 25, 10, 10):
            source.set(pct)
            monitor.budget()
    changes = [r.getMessage() for r in caplog.records if r.getMessage().startswith("power budget")]
    assert [c.split(":")[1].split()[0] for c in changes] == ["full", "rag-only", "templates-only"]


@pytest.mark.parametrize(("text", "expected"), [
    ("MemTotal: 1000 kB\nMemAvailable:  307200 kB\n", 300),
    ("MemTotal: 1000 kB\n", None),
    ("MemAvailable: lots kB\n", None),
    ("MemAvailable: 12 MB\n", None),
])
def test_meminfo(tmp_path, text, expected, caplog):
    path = tmp_path / "meminfo"
    path.write_text(text)
    with caplog.at_level(logging.WARNING, logger="evy.power"):
        assert available_mb(path) == expected
    assert (expected is None) == any("free memory unknown" in r.getMessage() for r in caplog.records)


def test_missing_meminfo_is_unknown(tmp_path):
    assert available_mb(tmp_path / "nope") is None


def test_the_real_meminfo_reads():
    free = available_mb()
    assert free is None or free > 0


def test_open_monitor_stands_in_an_unknown_source_when_the_configured_one_fails(power_config, caplog):
    with caplog.at_level(logging.WARNING, logger="evy.power"):
        monitor = open_monitor(power_config(source="ina219", i2c_bus=250))
    snapshot = monitor.snapshot()
    assert snapshot.battery_pct is None and "/dev/i2c-250" in snapshot.power.problem
    assert monitor.budget().allow_llm
    assert sum("battery unknown" in r.getMessage() for r in caplog.records) == 1
