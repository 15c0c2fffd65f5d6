"""A kit that lost cellular coverage hands its replies over LoRa (the UDP twin on loopback) to a kit that has
coverage, which sends them as SMS: two real `evy run` processes, two simulated modems, one mesh key."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evy.config import load
from evy.health import collect
from evy.mesh.keys import generate_key_file
from evy.metrics.collector import render
from evy.pipeline.kit import join_replies
from evy.sms.simulator import ModemSimulator, deliver_parts
from evy.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

PHONE = "+254711000111"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def kit_config(directory: Path, port: str, key: Path, bind: int, peer: int) -> Path:
    directory.mkdir()
    config = directory / "evy.toml"
    config.write_text(
        f'country = "KE"\ndata_dir = "{directory}"\n[modem]\nport = "{port}"\nstatus_reports = false\n'
        "[outbox]\nnetwork_hold = 1.0\nbackoff = 0.5\n[brain]\nfollowup = false\n"
        f'[mesh]\nenabled = true\nradio = "udp"\nkey_file = "{key}"\nudp_bind = "127.0.0.1:{bind}"\n'
        f'udp_peers = ["127.0.0.1:{peer}"]\nbeacon_interval = 1.0\nspreading_factor = 7\n'
        "[health]\nsnapshot_interval = 5.0\n")
    return config


def test_a_kit_without_coverage_gets_its_reply_out_through_a_kit_with_coverage(tmp_path):
    key = generate_key_file(tmp_path / "mesh.key")
    offline, online = ModemSimulator(registered=False).start(), ModemSimulator().start()
    for _, pdu in deliver_parts(PHONE, "we are cut off, 4 people, one with a broken leg"):
        offline.store(pdu)  # it arrived before the kit lost coverage
    port_a, port_b = free_udp_port(), free_udp_port()
    config_a = kit_config(tmp_path / "a", offline.port, key, port_a, port_b)
    config_b = kit_config(tmp_path / "b", online.port, key, port_b, port_a)
    agents = [subprocess.Popen([sys.executable, "-m", "evy", "run", "--config", str(c)],
                               stderr=subprocess.PIPE, text=True) for c in (config_a, config_b)]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(r.complete for r in join_replies(list(online.sent))):
            time.sleep(0.1)
        [reply] = join_replies(list(online.sent))
        assert reply.recipient == PHONE and "999" in reply.text
        assert not offline.sent, "the kit without coverage sent nothing itself"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with Store.open(tmp_path / "a" / "evy.db") as store:
                states = [r[0] for r in store.db.execute("SELECT state FROM outbox")]
            if states == ["relayed"]:
                break
            time.sleep(0.2)
        assert states == ["relayed"], "the hand-over was acknowledged end to end"
        with Store.open(tmp_path / "b" / "evy.db") as store:
            assert [tuple(r) for r in store.db.execute("SELECT kind, state FROM outbox")] == [("relay", "sent")]
        # Kit A's health, as its console reads it: kit B heard by its beacons (with coverage), airtime spent.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with Store.open(tmp_path / "a" / "evy.db") as store:
                mesh = collect(store, load(config_a)).mesh
            if mesh is not None and mesh.neighbours:
                break
            time.sleep(0.5)
        [neighbour] = mesh.neighbours
        assert neighbour.cellular and neighbour.hops == 1 and time.time() - neighbour.heard_at < 30
        assert 0 < mesh.airtime_used_s < mesh.airtime_allowed_s
        with Store.open(tmp_path / "a" / "evy.db") as store:
            assert b"evy_mesh_handovers_total 1.0" in render(store, load(config_a))
    finally:
        for agent in agents:
            agent.send_signal(signal.SIGTERM)
        for agent in agents:
            try:
                assert agent.wait(timeout=15) == 0
            except subprocess.TimeoutExpired:
                agent.kill()
        offline.stop()
        online.stop()


def test_mesh_without_a_key_keeps_answering_sms(tmp_path, agents):
    sim = ModemSimulator().start()
    config = tmp_path / "evy.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[modem]\nport = "{sim.port}"\n[brain]\nfollowup = false\n'
                      '[mesh]\nenabled = true\nradio = "udp"\nudp_bind = "127.0.0.1:0"\n')
    agent = agents.start(config, stdout=None)
    try:
        sim.deliver(PHONE, "help")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not join_replies(list(sim.sent)):
            time.sleep(0.1)
        assert join_replies(list(sim.sent))[0].recipient == PHONE
    finally:
        stderr = agents.stop(agent, 15)
        sim.stop()
    assert "not joining the mesh" in stderr and "key" in stderr


MALFORMED_NUMBERS = ["+2547x1000111", "", "+", "+" + "9" * 30, "+254 711\n000111", "SAFARICOM", "12"]


def test_malformed_numbers_from_the_mesh_are_rejected_and_the_kit_goes_on(tmp_path, agents):
    """A kit on the mesh (it holds the key, so its frames authenticate) relays replies to numbers no SMS can
    reach: the receiving kit rejects each, logs it and still sends the good relay that follows."""
    from evy.config import load
    from evy.messages import Priority
    from evy.pipeline.meshlink import MeshLink

    key = generate_key_file(tmp_path / "mesh.key")
    online = ModemSimulator().start()
    port_a, port_b = free_udp_port(), free_udp_port()
    config_a = kit_config(tmp_path / "a", "/dev/null", key, port_a, port_b)
    config_b = kit_config(tmp_path / "b", online.port, key, port_b, port_a)
    agent = agents.start(config_b, stdout=None)
    link = MeshLink(load(config_a), coverage=lambda: False)
    link.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not link.gateways():
            time.sleep(0.2)
        [gateway] = link.gateways()
        outcomes = []
        for number in MALFORMED_NUMBERS:  # one at a time: each is acknowledged end to end before the next
            mesh_id = link.relay(gateway, number, "your reply", Priority.EMERGENCY)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and mesh_id not in [m for m, _ in outcomes]:
                outcomes += link.take_outcomes()
                time.sleep(0.1)
        assert sorted(delivered for _, delivered in outcomes) == [True] * len(MALFORMED_NUMBERS)
        link.relay(gateway, PHONE, "a boat is on its way to the school", Priority.EMERGENCY)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(r.complete for r in join_replies(list(online.sent))):
            time.sleep(0.1)
        time.sleep(1.0)
        assert agent.poll() is None, "the kit is still running"
        assert [r.recipient for r in join_replies(list(online.sent))] == [PHONE]
    finally:
        link.stop()
        stderr = agents.stop(agent, 15)
        online.stop()
    assert stderr.count("rejected an SMS relay") == len(MALFORMED_NUMBERS), stderr[-3000:]
    assert "Traceback" not in stderr


@given(number=st.one_of(st.text(max_size=40), st.from_regex(r"\+?[0-9]{0,25}", fullmatch=True)),
       text=st.text(max_size=300))
def test_a_relay_is_either_rejected_or_encodes_as_an_sms(number, text):
    from evy.mesh.messages import SmsRelay
    from evy.pipeline.meshlink import untrusted_relay_problem
    from evy.sms import pdu

    problem = untrusted_relay_problem(SmsRelay(number, text))
    if problem is None:
        assert pdu.encode_submit(number, text[:160] or "x")
    else:
        assert "\n" not in problem or "\n" in number
