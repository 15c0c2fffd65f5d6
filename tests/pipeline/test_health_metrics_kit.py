"""The kit's health, /metrics, /health and the node_exporter textfile through the pty simulator: the agent
records what only it knows, and a second connection (as the console process has) reads it all."""

from __future__ import annotations

import os
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from evy.config import parse
from evy.health import HealthRecorder, attention, collect
from evy.health.monitor import health_json
from evy.metrics.collector import render
from evy.metrics.textfile import write_textfile
from evy.pipeline.kit import SimulatedKit, join_replies
from evy.store import Store
from evy.store import health as store_health

pytestmark = pytest.mark.timeout(90)
BASE = 'country = "KE"\n[brain]\nfollowup = false\n[power]\nsource = "sim"\nsim_battery = 15\n'


def wait_for(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_the_agent_records_its_health_and_the_console_reads_it():
    with SimulatedKit(BASE) as kit, Store.open(kit.data_dir / "evy.db") as console:
        health = collect(console, kit.config)
        assert health.agent_running and health.agent_uptime_s is not None
        assert (health.modem.state, health.modem.registered) == ("ready", True)
        assert health.modem.signal is not None and health.modem.operator
        assert health.modem.sim_total and health.modem.sim_used is not None
        assert health.power["battery_pct"] == 15 and len(health.power_history) == 1
        assert health.model["state"] == "protocols only" and health.mesh is None
        assert health.memory.total_mb and health.disk.total_bytes and health.system_uptime_s
        assert "battery_low" in {item.code for item in attention(health)}
        data = health.as_json()
        assert data["agent_running"] and data["modem"]["signal_dbm"] == -113 + 2 * health.modem.signal
        status, body = health_json(console, kit.config)
        assert (status, body["status"], body["battery_pct"]) == (200, "degraded", 15)


def test_no_network_for_an_hour_is_noticed():
    with SimulatedKit(BASE, modem__heartbeat=1.0, health__snapshot_interval=3600.0) as kit, \
            Store.open(kit.data_dir / "evy.db") as console:
        start = time.time()
        clock = [start]
        recorder = HealthRecorder(kit.config, console, kit.modem, kit.agent.responder, clock=lambda: clock[0])
        kit.sim.set_registered(False)
        wait_for(lambda: not kit.modem.status().registered)
        assert recorder.maybe_record()
        clock[0] = start + 30
        assert not recorder.maybe_record()  # at most one snapshot per interval
        clock[0] = start + 3700
        assert recorder.maybe_record()
        health = collect(console, kit.config, now=start + 3700)
        assert health.modem.unregistered_since == start
        assert [i.code for i in attention(health) if i.code == "no_network"] == ["no_network"]
        kit.sim.set_registered(True)
        wait_for(lambda: kit.modem.status().registered)
        clock[0] = start + 7400
        recorder.maybe_record()
        assert collect(console, kit.config, now=start + 7400).modem.unregistered_since is None


def test_a_data_partition_over_80_percent_needs_attention(small_partition, fill_disk):
    config = parse(f'data_dir = "{small_partition}"')
    with Store.open(small_partition / "evy.db") as store:
        assert "disk_high" not in {i.code for i in attention(collect(store, config))}
        ballast = fill_disk(small_partition / "ballast")
        [item] = [i for i in attention(collect(store, config)) if i.code == "disk_high"]
        assert item.severity == "critical" and "% full" in item.problem
        ballast.unlink()


def test_metrics_count_messages_replies_latency_and_the_kit(tmp_path):
    textfile = tmp_path / "textfile" / "evy.prom"
    textfile.parent.mkdir()
    with SimulatedKit(BASE, health__textfile=str(textfile)) as kit, Store.open(kit.data_dir / "evy.db") as console:
        kit.sim.deliver("+254711000001", "my father collapsed and is not breathing")
        kit.sim.deliver("+254711000002", "JOIN")
        kit.sim.deliver("+254711000003", "where is the nearest shelter?")
        kit.replies(3)
        wait_for(lambda: kit.settled(console))
        wait_for(lambda: all(r.complete for r in join_replies(list(kit.sim.sent))))
        store_health.bump(console, "followup_dropped")
        found = samples(render(console, kit.config).decode())
        received = {labels: v for (name, labels), v in found.items() if name == "evy_messages_received_total"}
        assert sum(received.values()) == 3
        assert received[(("category", "medical"), ("priority", "life_threatening"))] == 1
        sent = sum(v for (name, _), v in found.items() if name == "evy_messages_sent_total")
        assert sent == 3
        count = sum(v for (name, _), v in found.items() if name == "evy_reply_latency_seconds_count")
        assert count == 3
        buckets = sorted((float(dict(labels)["le"]), v) for (name, labels), v in found.items()
                         if name == "evy_reply_latency_seconds_bucket" and dict(labels)["priority"] == "routine")
        assert [v for _, v in buckets] == sorted(v for _, v in buckets) and buckets[-1] == (float("inf"), 1)
        assert found[("evy_followups_total", (("outcome", "dropped"),))] == 1
        assert found[("evy_queue_depth", (("priority", "life_threatening"), ("queue", "outbox")))] == 0
        assert found[("evy_modem_state", (("state", "ready"),))] == 1
        assert found[("evy_agent_up", ())] == 1 and found[("evy_battery_percent", ())] == 15
        assert found[("evy_broadcast_subscribers", ())] == 1
        assert found[("evy_attention", (("code", "battery_low"), ("severity", "warning")))] == 1
        # The agent wrote the textfile after its first snapshot; the console's own write is the same format.
        wait_for(textfile.exists)
        assert samples(textfile.read_text())[("evy_agent_up", ())] == 1
        write_textfile(console, kit.config, textfile)
        assert sorted(os.listdir(textfile.parent)) == ["evy.prom"]  # renamed into place, nothing left behind
        assert samples(textfile.read_text())[("evy_messages_received_total",
                                             (("category", "medical"), ("priority", "life_threatening")))] == 1


def test_a_textfile_in_a_missing_directory_is_an_error_not_a_crash(tmp_path, caplog):
    config = parse(f'data_dir = "{tmp_path}"\n[health]\ntextfile = "{tmp_path}/absent/evy.prom"\n')
    with SimulatedKit(BASE, health__textfile=str(tmp_path / "absent" / "evy.prom")) as kit:
        kit.sim.deliver("+254711000001", "hello")
        kit.replies(1)  # the agent goes on answering
        wait_for(lambda: any("not written" in record.getMessage() for record in caplog.records))
        assert kit.error is None
    with Store.open(tmp_path / "evy.db") as store, pytest.raises(OSError):
        write_textfile(store, config, config["health.textfile"])
