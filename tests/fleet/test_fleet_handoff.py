"""Mesh hand-off of the fleet uplink: kit A cannot reach the broker, kit B can; two real `evy run` agents
(simulated modems) over the UDP radio twin, a real Mosquitto with the per-kit ACL, `evy hq` in its own
process. A's case events reach the cell through B under A's id, each once, and B SIGKILLed in the middle
of a hand-off loses nothing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evy.fleet.broker import LocalBroker, free_port, mosquitto_binary
from evy.mesh.keys import generate_key_file
from evy.sms.simulator import ModemSimulator
from evy.store import Store, uplink

from .conftest import AGENT_DIR, LOGINS, Cell, wait_for

pytestmark = pytest.mark.timeout(240)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def agent_config(directory: Path, kit: str, modem_port: str, key: Path, bind: int, peer: int,
                 broker: LocalBroker, broker_port: int) -> Path:
    directory.mkdir(exist_ok=True)
    settings = broker.settings(kit)
    config = directory / "evy.toml"
    config.write_text(
        f'country = "KE"\ndata_dir = "{directory}"\nlog_level = "info"\n'
        f'[modem]\nport = "{modem_port}"\nstatus_reports = false\n[brain]\nfollowup = false\n'
        f'[mesh]\nenabled = true\nradio = "udp"\nkey_file = "{key}"\nudp_bind = "127.0.0.1:{bind}"\n'
        f'udp_peers = ["127.0.0.1:{peer}"]\nbeacon_interval = 1.0\nspreading_factor = 7\n'
        f'[fleet]\nenabled = true\nkit_id = "{kit}"\nbroker_host = "127.0.0.1"\nbroker_port = {broker_port}\n'
        f'ca_file = "{settings["fleet__ca_file"]}"\ncredentials_file = "{settings["fleet__credentials_file"]}"\n'
        "keepalive = 5\nhealth_interval = 86400\nmetrics_interval = 86400\nhandoff_timeout = 8\n")
    return config


def run_agent(config: Path, log: Path) -> subprocess.Popen:
    with open(log, "a") as stderr:
        return subprocess.Popen([sys.executable, "-m", "evy", "run", "--config", str(config)],
                                env={**os.environ, "PYTHONPATH": str(AGENT_DIR)},
                                stdout=subprocess.DEVNULL, stderr=stderr)


def origin_state(directory: Path) -> tuple[int, dict[int, str]]:
    """Kit A's last event number and what is still queued (seq -> topic)."""
    with Store.open(directory / "evy.db") as store:
        last = uplink.last_seq(store)
        queued = {row[0]: row[1] for row in store.db.execute("SELECT seq, topic FROM uplink")}
    return last, queued


def case_seqs_at_the_cell(cell: Cell, kit: str) -> list[int]:
    with cell.database() as database:
        return [row["seq"] for row in database.sql.rows(
            "SELECT seq FROM events WHERE kit = ? AND topic = 'cases'", (kit,))]


def every_case_event_once(cell: Cell, directory: Path) -> bool:
    """The cell holds exactly A's events minus those still queued (its two snapshots, which stay home)."""
    last, queued = origin_state(directory)
    if any(topic == "cases" for topic in queued.values()):
        return False
    stored = case_seqs_at_the_cell(cell, "kit-a")
    return sorted(stored) == sorted(set(range(1, last + 1)) - set(queued))


@pytest.fixture
def acl_broker(tmp_path):
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (invoke setup)")
    with LocalBroker(tmp_path / "broker", logins=LOGINS, acl=True) as running:
        yield running


def test_a_kit_without_a_backhaul_reaches_the_cell_through_a_neighbour_and_loses_nothing_when_it_dies(
        tmp_path, acl_broker):
    cell = Cell(tmp_path, acl_broker)
    cell.start()
    key = generate_key_file(tmp_path / "mesh.key")
    modem_a, modem_b = ModemSimulator().start(), ModemSimulator().start()
    port_a, port_b = free_udp_port(), free_udp_port()
    config_a = agent_config(tmp_path / "a", "kit-a", modem_a.port, key, port_a, port_b, acl_broker, free_port())
    config_b = agent_config(tmp_path / "b", "kit-b", modem_b.port, key, port_b, port_a, acl_broker,
                            acl_broker.port)
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    kit_a, kit_b = run_agent(config_a, log_a), run_agent(config_b, log_b)
    try:
        for n in range(3):
            modem_a.deliver(f"+25471100{n:04d}", "fire at the market, people trapped")
        wait_for(lambda: every_case_event_once(cell, tmp_path / "a") and case_seqs_at_the_cell(cell, "kit-a"),
                 timeout=90, what="kit A's events at the cell through kit B")
        first = len(case_seqs_at_the_cell(cell, "kit-a"))
        assert "handed" in log_a.read_text()

        for n in range(3, 15):
            modem_a.deliver(f"+25471100{n:04d}", "we need water and a doctor")
        wait_for(lambda: len(case_seqs_at_the_cell(cell, "kit-a")) > first, timeout=60,
                 what="the second hand-off under way")
        kit_b.send_signal(signal.SIGKILL)
        kit_b.wait(10)
        _, queued = origin_state(tmp_path / "a")
        assert any(topic == "cases" for topic in queued.values()), "B died after the hand-off: nothing tested"
        kit_b = run_agent(config_b, log_b)
        wait_for(lambda: every_case_event_once(cell, tmp_path / "a"), timeout=120,
                 what="every event of kit A at the cell once, after kit B came back")
    finally:
        for kit in (kit_a, kit_b):
            if kit.poll() is None:
                kit.send_signal(signal.SIGTERM)
        for kit in (kit_a, kit_b):
            try:
                kit.wait(15)
            except subprocess.TimeoutExpired:
                kit.kill()
        modem_a.stop()
        modem_b.stop()
        cell.kill(signal.SIGTERM)
    with cell.database() as database:
        kits = {row["kit"] for row in database.sql.rows("SELECT DISTINCT kit FROM events")}
        assert "kit-a" in kits and database.counts()["rejected"] == 0
        board = [case for case in database.board() if case.kit == "kit-a"]
        assert len(board) == 15  # one case per sender, stored under the origin kit
    assert "refused" not in log_b.read_text()


def test_the_acl_drops_a_kit_writing_as_another_so_a_relay_writes_under_its_own_id(tmp_path, acl_broker):
    """Why relayed events carry the relay's prefix: the broker drops a kit's publish under another kit's id.
    (Mosquitto 2.0.11 answers it with a PUBACK carrying an MQTT 5 reason code, which paho 1.6 takes for a
    protocol error: the connection drops and the client reconnects.)"""
    from evy.config import parse
    from evy.fleet import events
    from evy.fleet.link import connect_async, make_client

    cell = Cell(tmp_path, acl_broker)
    cell.start()
    config = parse("").replace(fleet__kit_id="kit-b", **acl_broker.settings("kit-b"))
    client = make_client(config, "kit-b")
    connect_async(client, config)
    client.loop_start()

    def publish(seq: int, topic: str) -> None:
        event = events.Event("kit-a", seq, "cases", "case.opened", 1765100000.0, 1, {
            "case": seq, "sender": "+254711000001", "opened_at": 1765100000.0, "status": "new", "priority": 1,
            "emergency": True})
        client.publish(topic, events.encode(event), qos=1)

    try:
        publish(1, events.relayed_topic_for("kit-b", "kit-a", "cases"))
        wait_for(lambda: cell.ids("kit-a") == ["kit-a:1"], what="the relayed event at the cell")
        publish(2, events.topic_for("kit-a", "cases"))
        time.sleep(3.0)  # it would have arrived by now
        assert cell.ids("kit-a") == ["kit-a:1"]
    finally:
        client.disconnect()
        client.loop_stop()
        cell.kill(signal.SIGTERM)
