"""Fleet scale run: 100 kits (each its own store and the real uplink, in this process) through one local
Mosquitto (TLS, a login per kit) to one `evy hq` process, with random outages.

A kit's backhaul goes away at random for 2-12 s, once or twice per kit: its uplink is stopped (connection
closed, nothing in flight remembered) while the kit keeps writing cases, then started again, as after a
modem data session drops. (TCP-level cuts, packets vanishing, are tested in a network namespace by
tests/fleet/test_fleet_netns.py.) The broker is restarted once half way, and the cell is stopped for a fifth
of the run so that its restart drains a backlog (its peak ingest rate).

Figures: events lost (target 0), duplicates stored (target 0: the cell stores an id once), duplicates
delivered and dropped by id, latency from a kit's link coming back to the cell storing what it queued
meanwhile (p50/p95), latency of the other events, the cell's ingest rate. Needs mosquitto (Debian) and
paho-mqtt; `evy bench fleet`, or `evy bench --quick fleet` for 20 kits.
"""

from __future__ import annotations

import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import evy
from evy.config import parse
from evy.fleet.broker import LocalBroker, mosquitto_binary
from evy.fleet.uplink import Uplink
from evy.hq.db import HqDatabase
from evy.store import Store, sample, uplink


def run(quick: bool = False) -> dict:
    if mosquitto_binary() is None:
        return {"skipped": "mosquitto is not installed (invoke setup)"}
    return scale_run(*((20, 15.0) if quick else (100, 60.0)))


def scale_run(kits: int, seconds: float, drain_timeout: float = 300.0) -> dict:
    rng = random.Random(11)
    with tempfile.TemporaryDirectory(prefix="evy-bench-fleet-") as tmp_name:
        tmp = Path(tmp_name)
        names = [f"kit-{n:03d}" for n in range(kits)]
        broker = LocalBroker(tmp / "broker", logins={**{n: f"pw-{n}" for n in names}, "evy-hq": "pw-hq"})
        broker.start()
        cell, cell_config = _start_cell(tmp, broker)
        links, stores, configs, outages = [], [], [], {n: [] for n in names}
        try:
            for name in names:
                config = parse("").replace(data_dir=str(tmp / name), fleet__enabled=True, fleet__kit_id=name,
                                           fleet__keepalive=10, fleet__health_interval=30.0,
                                           fleet__metrics_interval=60.0,
                                           **broker.settings(name))
                store = Store.open(tmp / name / "evy.db")
                uplink.set_enabled(store, True)
                link = Uplink(config, store.path)
                link.start()
                links.append(link)
                configs.append(config)
                stores.append(store)
            started = time.time()
            plan = _outage_plan(rng, kits, seconds)
            cells = [cell]
            _traffic(stores, names, links, configs, plan, outages, rng, seconds, started, broker, cells, tmp)
            cell = cells[-1]
            drain_started = time.time()
            deadline = drain_started + drain_timeout
            while time.time() < deadline and any(uplink.depth(s)["queued"] for s in stores):
                time.sleep(0.5)
            drained_s = time.time() - drain_started
            left = {"kits_not_drained": sum(1 for s in stores if uplink.depth(s)["queued"]),
                    "kits_disconnected_at_end": sum(1 for link in links if not link.connected.is_set()),
                    "in_flight_at_end": sum(link.status()["in_flight"] for link in links)}
            expected = {name: sample.conversation_events(store) for name, store in zip(names, stores, strict=True)}
            ingested_s = _wait_for_the_cell(cell_config, sum(expected.values()), drain_started + drain_timeout)
        finally:
            for link in links:
                if link is not None:
                    link.stop()
            for store in stores:
                store.close()
            cell.send_signal(signal.SIGTERM)
            cell_log = "".join(_stop(c) for c in cells)
            broker.stop()
        return {**_figures(cell_config, names, expected, outages, cell_log, started, drained_s, kits, seconds),
                **left, "cell_caught_up_after_traffic_s": round(ingested_s, 1)}


def _stop(cell: subprocess.Popen) -> str:
    if cell.poll() is None:
        cell.send_signal(signal.SIGTERM)
    return cell.communicate(timeout=30)[1]


def _start_cell(tmp: Path, broker: LocalBroker) -> tuple[subprocess.Popen, Path]:
    settings = broker.settings("evy-hq")
    config = tmp / "hq.toml"
    config.write_text(
        f'log_level = "info"\n[fleet]\nbroker_host = "{broker.host}"\nbroker_port = {broker.port}\n'
        f'ca_file = "{settings["fleet__ca_file"]}"\ncredentials_file = "{settings["fleet__credentials_file"]}"\n'
        f'keepalive = 10\n[hq]\ndatabase = "{tmp / "hq.sqlite"}"\nlisten = ""\n')
    return _restart_cell(tmp, broker), tmp / "hq.sqlite"


def _restart_cell(tmp: Path, broker: LocalBroker) -> subprocess.Popen:
    """`evy hq run`, once subscribed (the broker keeps nothing for a session that does not exist yet)."""
    env = {**os.environ, "PYTHONPATH": str(Path(evy.__file__).parents[1])}
    cell = subprocess.Popen([sys.executable, "-m", "evy", "hq", "run", "--config", str(tmp / "hq.toml")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while "cell subscribed" not in (line := cell.stderr.readline()):
        if not line:
            raise RuntimeError("evy hq exited before subscribing")
    return cell


def _outage_plan(rng: random.Random, kits: int, seconds: float) -> list[tuple[float, int, float]]:
    """(start offset, kit, duration): one or two cuts of 2-12 s per kit, within the traffic window."""
    plan = []
    for index in range(kits):
        for _ in range(rng.choice((1, 2))):
            plan.append((rng.uniform(0, seconds * 0.8), index, rng.uniform(2.0, 12.0)))
    return sorted(plan)


def _wait_for_the_cell(database_path: Path, case_events: int, deadline: float) -> float:
    """Seconds until the cell holds ``case_events`` case events (or the deadline)."""
    started = time.time()
    while time.time() < deadline:
        with HqDatabase(database_path) as database:
            stored = database.case_event_count()
        if stored >= case_events:
            break
        time.sleep(0.5)
    return time.time() - started


def _traffic(stores, names, links, configs, plan, outages, rng, seconds, started, broker, cells, tmp) -> None:
    """Cases at random on random kits, cuts and restores as planned, one broker restart half way, the cell
    away from 25 % to 45 % of the run."""
    pending = list(plan)
    restoring: list[tuple[float, int]] = []
    restarted = False
    cell_stopped = cell_restarted = False
    while (now := time.time()) - started < seconds or restoring:
        if not cell_stopped and now - started > seconds * 0.25:
            cells[-1].send_signal(signal.SIGTERM)
            cells[-1].wait(30)
            cell_stopped = True
        if cell_stopped and not cell_restarted and now - started > seconds * 0.45:
            cells.append(_restart_cell(tmp, broker))
            cell_restarted = True
        while pending and started + pending[0][0] <= now:
            _, index, duration = pending.pop(0)
            if links[index] is not None:
                links[index].stop()
                links[index] = None
                restoring.append((now + duration, index))
                outages[names[index]].append([now, None])
        for item in [r for r in restoring if r[0] <= now]:
            restoring.remove(item)
            link = Uplink(configs[item[1]], stores[item[1]].path)
            link.start()
            links[item[1]] = link
            outages[names[item[1]]][-1][1] = time.time()
        if not restarted and now - started > seconds / 2:
            broker.restart()  # SIGTERM: Mosquitto keeps the sessions and the cell's queued messages
            restarted = True
        if now - started < seconds:
            index = rng.randrange(len(stores))
            sample.conversation(stores[index], f"+2547{index:03d}{rng.randrange(10**5):05d}", time.time(), rng,
                                spacing=0.0)
        time.sleep(rng.expovariate(len(stores) / 6.0) if now - started < seconds else 0.05)


def _figures(database_path, names, expected, outages, cell_log, started, drained_s, kits, seconds) -> dict:
    with HqDatabase(database_path) as database:
        rows = [dict(zip(("kit", "topic", "at", "received_at"), row, strict=True)) for row in database.timings()]
        total, duplicates = database.counts()["events"], database.duplicates_stored()
    stored = {name: 0 for name in names}
    after_reconnect, steady = [], []
    for row in rows:
        if row["topic"] == "cases":
            stored[row["kit"]] += 1
        windows = [w for w in outages.get(row["kit"], []) if w[1] and w[0] <= row["at"] <= w[1]]
        if windows:
            after_reconnect.append(row["received_at"] - windows[0][1])
        else:
            steady.append(row["received_at"] - row["at"])
    received = sorted(row["received_at"] for row in rows if row["received_at"] >= started)
    per_second: dict[int, int] = {}
    for at in received:
        per_second[int(at)] = per_second.get(int(at), 0) + 1
    match = re.search(r"(\d+) events stored, (\d+) duplicates dropped, (\d+) rejected", cell_log or "")
    return {
        "kits": kits, "traffic_s": seconds, "outages": sum(len(w) for w in outages.values()),
        "broker_restarts": 1,
        "case_events_made": sum(expected.values()),
        "events_lost": sum(max(0, expected[n] - stored[n]) for n in names),
        "duplicates_stored": duplicates,
        "duplicates_delivered_dropped": int(match.group(2)) if match else None,
        "events_stored": total,
        "reconnect_latency_p50_s": _quantile(after_reconnect, 0.5),
        "reconnect_latency_p95_s": _quantile(after_reconnect, 0.95),
        "steady_latency_p50_s": _quantile(steady, 0.5),
        "steady_latency_p95_s": _quantile(steady, 0.95),
        "ingest_mean_per_s": round(len(received) / max(1e-9, received[-1] - received[0]), 1) if received else None,
        "ingest_peak_per_s": max(per_second.values(), default=0),
        "drain_after_traffic_s": round(drained_s, 1),
    }


def _quantile(values: list[float], q: float) -> float | None:
    if len(values) < 2:
        return round(values[0], 3) if values else None
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1], 3)
