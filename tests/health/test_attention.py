"""The "needs attention" list: each condition the operators asked for, with a severity and a fix."""

from __future__ import annotations

from dataclasses import replace

import pytest

from evy.config import parse
from evy.health import Severity, attention, collect
from evy.health.collect import MeshHealth
from evy.health.monitor import summary
from evy.health.recorder import SOURCE
from evy.store import Store
from evy.store import health as store_health

NOW = 1_800_000_000.0


@pytest.fixture
def healthy(tmp_path):
    """The health of a kit whose agent has just recorded a snapshot: everything fine."""
    config = parse(f'data_dir = "{tmp_path}"')
    with Store.open(tmp_path / "evy.db") as store:
        store_health.record(store, SOURCE, {
            "started_at": NOW - 600, "pid": 1, "power": {"source": "sim", "battery_pct": 80, "charging": True},
            "modem": {"state": "ready", "signal": 20, "registered": True, "operator": "Safaricom", "last_error": None,
                      "sim_used": 2, "sim_total": 20, "unregistered_since": None},
            "mesh": None, "model": {"state": "ready"}}, None, NOW - 5)
        health = collect(store, config, now=NOW)
    return replace(health, clock_synchronised=True, disk=replace(health.disk, total_bytes=100, free_bytes=50))


def codes(health):
    return {item.code: item.severity for item in attention(health)}


def test_a_healthy_kit_needs_nothing(healthy):
    assert healthy.agent_running and healthy.agent_uptime_s == 600
    assert healthy.modem.signal_dbm == -73 and healthy.modem.sim_used_pct == 10.0
    assert attention(healthy) == []
    assert summary(healthy) == (200, {**summary(healthy)[1], "status": "ok"})


def test_sim_almost_full(healthy):
    health = replace(healthy, modem=replace(healthy.modem, sim_used=17, sim_total=20))
    [item] = attention(health)
    assert (item.code, item.severity) == ("sim_almost_full", Severity.WARNING) and "17/20" in item.problem
    assert summary(health)[0] == 200 and summary(health)[1]["status"] == "degraded"


def test_no_network_for_an_hour(healthy):
    modem = replace(healthy.modem, state="not-registered", registered=False)
    assert codes(replace(healthy, modem=replace(modem, unregistered_since=NOW - 3000))) == {}
    health = replace(healthy, modem=replace(modem, unregistered_since=NOW - 3700))
    [item] = attention(health)
    assert (item.code, item.severity) == ("no_network", Severity.CRITICAL) and "61 min" in item.problem
    assert "antenna" in item.fix
    assert summary(health)[0] == 503


@pytest.mark.parametrize(("battery", "severity"), [(19, Severity.WARNING), (5, Severity.CRITICAL), (20, None)])
def test_battery_under_20_percent(healthy, battery, severity):
    health = replace(healthy, power={"battery_pct": battery, "charging": False})
    assert codes(health).get("battery_low") == severity


def test_clock_unsynchronised(healthy):
    assert codes(replace(healthy, clock_synchronised=False)) == {"clock_unsynchronised": Severity.WARNING}
    assert codes(replace(healthy, clock_synchronised=None)) == {}  # cannot tell: say nothing


@pytest.mark.parametrize(("free", "severity"), [(21, None), (19, Severity.WARNING), (4, Severity.CRITICAL)])
def test_data_partition_over_80_percent(healthy, free, severity):
    health = replace(healthy, disk=replace(healthy.disk, total_bytes=100, free_bytes=free))
    assert codes(health).get("disk_high") == severity


def test_a_silent_agent_and_a_locked_sim_come_first(healthy):
    health = replace(healthy, at=healthy.at + 3600, clock_synchronised=False,
                     modem=replace(healthy.modem, state="sim-locked", last_error="CME ERROR 16"))
    items = attention(health)
    assert [i.code for i in items] == ["agent_not_running", "sim_locked", "clock_unsynchronised"]
    assert "systemctl status evy" in items[0].fix and "CME ERROR 16" in items[1].problem
    assert not health.agent_running


def test_mesh_airtime_near_the_limit(healthy):
    mesh = MeshHealth("0000abcd", (), airtime_used_s=340.0, airtime_allowed_s=360.0, delivered=0, gave_up=0,
                      relayed=0)
    assert codes(replace(healthy, mesh=mesh)) == {"airtime_high": Severity.INFO}


def test_every_item_says_what_to_do(healthy):
    worst = replace(healthy, at=healthy.at + 3600, clock_synchronised=False, power={"battery_pct": 3},
                    disk=replace(healthy.disk, free_bytes=1), store={"state": "in memory: disk full"},
                    modem=replace(healthy.modem, sim_used=20, unregistered_since=NOW - 7200),
                    model={"state": "model unavailable"})
    items = attention(worst)
    assert len(items) == 8
    assert all(item.fix and item.problem and item.as_json()["severity"] in ("critical", "warning", "info")
               for item in items)
    assert [item.severity for item in items] == sorted((item.severity for item in items),
                                                         key=["critical", "warning", "info"].index)
