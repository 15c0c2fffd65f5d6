"""The simulated battery: scripted levels and faults, and a solar day on a controlled clock."""

from __future__ import annotations

import pytest

from evy.power import ResourceMonitor
from evy.power.sim import SimulatedSource, SolarDay


def test_scripted_levels_and_a_one_off_fault():
    with SimulatedSource(55) as source:
        assert source.read().battery_pct == 55
        source.set(18, charging=True)
        reading = source.read()
        assert (reading.battery_pct, reading.charging, reading.external_power) == (18, True, True)
        source.set(fault="gauge not responding")
        broken = source.read()
        assert broken.battery_pct is None and broken.problem == "gauge not responding"
        assert source.read().battery_pct == 18


def test_an_unknown_battery_can_be_simulated():
    with SimulatedSource(None) as source:
        assert source.read().battery_pct is None


def test_from_config(power_config):
    source = SimulatedSource.from_config(power_config(source="sim", sim_battery=25, sim_charging=True))
    with source:
        reading = source.read()
    assert (reading.battery_pct, reading.charging) == (25, True)
    assert reading.volts == pytest.approx(11.66, abs=0.01)  # 25% on the lead-acid curve


def test_panel_power_is_a_half_sine_between_sunrise_and_sunset():
    day = SolarDay(panel_w=40, sunrise_h=6, sunset_h=18)
    assert day.panel_watts(3) == 0 and day.panel_watts(6) == 0 and day.panel_watts(20) == 0
    assert day.panel_watts(12) == pytest.approx(40) and day.panel_watts(9) == pytest.approx(40 * 2**-0.5)
    assert day.panel_watts(36) == pytest.approx(40)


def test_a_night_and_a_day_move_the_budget_down_and_back_up(power_config, meminfo):
    now = [0.0]
    solar = SolarDay(capacity_wh=100, panel_w=60, load_w=5, start_hour=18)
    source = SimulatedSource(60, solar=solar, clock=lambda: now[0])
    monitor = ResourceMonitor(source, power_config(), meminfo=meminfo(4_000_000), clock=lambda: now[0])
    timeline = []
    for _ in range(24 * 4):  # every 15 minutes for a day, starting at sunset
        budget = monitor.budget()
        timeline.append((round(source.hour, 2), source.battery_pct, budget.mode, source.charging))
        now[0] += 15 * 60
    night = [mode for hour, _, mode, _ in timeline if 4 <= hour < 6]
    assert night and set(night) == {"templates-only"}  # 60 Wh at sunset minus 5 W for 10 h+
    evening = [pct for hour, pct, _, _ in timeline if hour == 17.0]
    assert evening and evening[0] > 60 and timeline[-1][2] == "full"
    modes = [mode for _, _, mode, _ in timeline]
    assert modes.index("rag-only") < modes.index("templates-only")
    charging = {hour: charging for hour, _, _, charging in timeline}
    assert (charging[20.0], charging[2.0], charging[10.0]) == (False, False, True)


def test_speedup_runs_simulated_hours_faster():
    now = [0.0]
    solar = SolarDay(capacity_wh=100, panel_w=0, load_w=10, speedup=3600)
    source = SimulatedSource(50, solar=solar, clock=lambda: now[0])
    source.open()
    source.read()
    now[0] = 2.0  # two real seconds = two simulated hours at 10 W from 100 Wh
    assert source.read().battery_pct == 30 and source.read().watts == pytest.approx(-10)
