"""What the kit's node keeps while the agent is not reading it, as the firmware does (see the twin and
docs/meshtastic.md): a real `evy run` stopped or SIGKILLed, direct messages sent to the node meanwhile, the
agent started again. Each kept message is answered exactly once; what the firmware loses is lost here too, and
a full queue is logged and counted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("meshtastic")

from evy.config import load
from evy.meshtastic.twin import MeshtasticTwin
from evy.metrics.collector import render
from evy.sms.simulator import ModemSimulator
from evy.store import Store
from evy.store import health as store_health

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

ALICE = 0xA1B2C3D4
TEXTS = ["help the water is rising fast", "we are 5 people on the roof", "my child is not breathing"]


def write_config(tmp_path: Path, sim: ModemSimulator, twin: MeshtasticTwin, extra: str = "") -> Path:
    config = tmp_path / "evy.toml"
    config.write_text(f'country = "KE"\ndata_dir = "{tmp_path}"\n[modem]\nport = "{sim.port}"\n'
                      "command_timeout = 2.0\nretry_backoff = 0.05\n[brain]\nfollowup = false\n"
                      f'[meshtastic]\nenabled = true\nport = "{twin.port}"\nreconnect_max = 1.0\n{extra}')
    return config


def start_agent(config: Path, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "EVY_CRASH_AT"}
    with log.open("a") as stderr:
        return subprocess.Popen([sys.executable, "-m", "evy", "run", "--config", str(config)], env=env,
                                stdout=subprocess.DEVNULL, stderr=stderr)


def wait_until(predicate, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def rows(tmp_path: Path, sql: str) -> list[tuple]:
    with Store.open(tmp_path / "evy.db") as store:
        return [tuple(row) for row in store.db.execute(sql)]


def stop(agent: subprocess.Popen, twin: MeshtasticTwin | None = None, config: Path | None = None) -> None:
    """SIGTERM, as systemctl stop. With ``twin`` and ``config``, then what the unit's ExecStopPost does after
    any end of the agent (`evy meshtastic release`), and wait until the node has let its client go: the
    library's own `disconnect`, written as the agent exits, can die with the closing line."""
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=30) == 0
    if twin is not None and config is not None:
        release = subprocess.run([sys.executable, "-m", "evy", "meshtastic", "release", "--config", str(config)],
                                 capture_output=True, text=True, timeout=30)
        assert release.returncode == 0, release.stderr
        wait_until(lambda: not twin.client_attached, timeout=10, what="the node never let its client go")


def answered_once(tmp_path: Path, twin: MeshtasticTwin, senders: list[int]) -> None:
    """Every stored message has one reply, sent whole: each part shown once by the receiving node."""
    wait_until(lambda: rows(tmp_path, "SELECT COUNT(*) FROM outbox WHERE state = 'sent'")[0][0] == len(senders),
               what="the restarted agent did not answer every kept message")
    time.sleep(1.0)  # a second answer would leave now
    per_message = rows(tmp_path, "SELECT m.sender, COUNT(o.id) FROM messages m LEFT JOIN outbox o"
                                 " ON o.message_id = m.id GROUP BY m.id ORDER BY m.id")
    assert per_message == [(f"!{sender:08x}", 1) for sender in senders]
    assert twin.duplicates == 0


def test_direct_messages_sent_while_the_agent_is_stopped_are_answered_once_after_it_restarts(tmp_path):
    sim = ModemSimulator().start()
    senders = [ALICE, 0xB0B0B0B0, 0xC0C0C0C0]
    with MeshtasticTwin() as twin:
        config, log = write_config(tmp_path, sim, twin), tmp_path / "agent.log"
        agent = start_agent(config, log)
        try:
            wait_until(lambda: twin.configs >= 1, what="the agent never attached to the node")
            stop(agent, twin, config)  # systemctl stop/restart: the library tells the node `disconnect`
            ids = [twin.direct(sender, text) for sender, text in zip(senders, TEXTS, strict=True)]
            assert twin.waiting == 3 and not twin.handed_over, "the node keeps them for its next client"
            agent = start_agent(config, log)
            answered_once(tmp_path, twin, senders)
            stop(agent, twin, config)
            twin.direct(ALICE, TEXTS[0], packet_id=ids[0])  # the same packet again (a node that lost its history)
            agent = start_agent(config, log)
            wait_until(lambda: twin.configs >= 3 and not twin.waiting, what="the third start never attached")
            time.sleep(1.5)
            answered_once(tmp_path, twin, senders)  # stored once: not answered twice
            assert "kept 3 packets (3 texts)" in log.read_text()
            stop(agent)
        finally:
            if agent.poll() is None:
                agent.kill()
            sim.stop()


def test_a_sigkilled_agent_loses_what_the_node_hands_to_its_dead_line_as_with_the_firmware(tmp_path):
    """The firmware cannot see a serial client die: until it has heard nothing for 15 minutes it writes each
    packet to the line, where nobody reads it. Measured here so the docs can say what is lost."""
    sim = ModemSimulator().start()
    with MeshtasticTwin() as twin:
        config, log = write_config(tmp_path, sim, twin), tmp_path / "agent.log"
        agent = start_agent(config, log)
        try:
            wait_until(lambda: twin.configs >= 1, what="the agent never attached to the node")
            agent.kill()
            agent.wait(timeout=10)
            lost = twin.direct(ALICE, TEXTS[0])
            assert twin.handed_over == [lost] and not twin.waiting, "handed to a line nobody reads"
            agent = start_agent(config, log)
            wait_until(lambda: twin.configs >= 2, what="the restarted agent never attached")
            kept = twin.direct(0xB0B0B0B0, TEXTS[1])  # once a client reads again, texts arrive as before
            answered_once(tmp_path, twin, [0xB0B0B0B0])
            assert lost != kept and not rows(tmp_path, "SELECT 1 FROM messages WHERE sender = '!a1b2c3d4'")
            stop(agent)
        finally:
            if agent.poll() is None:
                agent.kill()
            sim.stop()


def test_a_sigkilled_agent_released_as_systemd_does_after_it_gets_what_arrived_meanwhile_once(tmp_path):
    """ExecStopPost runs `evy meshtastic release` after any end of the agent, SIGKILL included: the node then
    keeps what arrives, and the restarted agent answers each message once."""
    sim = ModemSimulator().start()
    senders = [ALICE, 0xB0B0B0B0]
    with MeshtasticTwin() as twin:
        config, log = write_config(tmp_path, sim, twin), tmp_path / "agent.log"
        agent = start_agent(config, log)
        try:
            wait_until(lambda: twin.configs >= 1, what="the agent never attached to the node")
            agent.kill()
            agent.wait(timeout=10)
            release = subprocess.run([sys.executable, "-m", "evy", "meshtastic", "release", "--config", str(config)],
                                     capture_output=True, text=True, timeout=30)
            assert release.returncode == 0 and "its client is gone" in release.stdout, release.stderr
            wait_until(lambda: not twin.client_attached, timeout=5, what="the node never heard the release")
            for sender, text in zip(senders, TEXTS, strict=False):
                twin.direct(sender, text)
            assert twin.waiting == 2 and not twin.handed_over
            agent = start_agent(config, log)
            answered_once(tmp_path, twin, senders)
            stop(agent)
        finally:
            if agent.poll() is None:
                agent.kill()
            sim.stop()


def test_over_tcp_meshtasticd_sees_a_sigkilled_agent_go_and_keeps_what_arrives(tmp_path):
    sim = ModemSimulator().start()
    with MeshtasticTwin(tcp=True) as twin:
        config = tmp_path / "evy.toml"
        config.write_text(f'country = "KE"\ndata_dir = "{tmp_path}"\n[modem]\nport = "{sim.port}"\n'
                          "command_timeout = 2.0\nretry_backoff = 0.05\n[brain]\nfollowup = false\n"
                          f'[meshtastic]\nenabled = true\nconnection = "tcp"\nhost = "127.0.0.1"\n'
                          f"tcp_port = {twin.tcp_port}\nreconnect_max = 1.0\n")
        log = tmp_path / "agent.log"
        agent = start_agent(config, log)
        try:
            wait_until(lambda: twin.configs >= 1, what="the agent never attached to meshtasticd")
            agent.kill()
            agent.wait(timeout=10)
            wait_until(lambda: not twin.client_attached, timeout=5, what="the closed socket went unnoticed")
            twin.direct(ALICE, TEXTS[0])
            assert twin.waiting == 1 and not twin.handed_over
            agent = start_agent(config, log)
            answered_once(tmp_path, twin, [ALICE])
            stop(agent)
        finally:
            if agent.poll() is None:
                agent.kill()
            sim.stop()


def test_more_messages_than_the_node_keeps_loses_the_oldest_and_the_kit_logs_and_counts_it(tmp_path):
    sim = ModemSimulator().start()
    senders = [0xA0000000 + n for n in range(11)]
    with MeshtasticTwin(to_phone_limit=8) as twin:
        config, log = write_config(tmp_path, sim, twin, "node_queue = 8\n"), tmp_path / "agent.log"
        agent = start_agent(config, log)
        try:
            wait_until(lambda: twin.configs >= 1, what="the agent never attached to the node")
            stop(agent, twin, config)
            ids = [twin.direct(sender, f"help fire near house {n}") for n, sender in enumerate(senders)]
            assert twin.dropped == ids[:3], "a text displaces the oldest, as MeshService::sendToPhone does"
            agent = start_agent(config, log)
            answered_once(tmp_path, twin, senders[3:])
            stop(agent)
            with Store.open(tmp_path / "evy.db") as store:
                counts = store_health.event_counts(store)
                exposed = render(store, load(config)).decode()
            assert 'evy_meshtastic_backlog_total{kind="full"} 1.0' in exposed
            assert counts[("meshtastic_backlog", "full")] == 1 and counts[("meshtastic_backlog", "texts")] == 8
            assert "queue for the kit was full (8 packets, 8 texts)" in log.read_text()
            print(f"meshtastic-backlog: sent 11, node kept 8, answered 8, dropped by the node {len(twin.dropped)}")
        finally:
            if agent.poll() is None:
                agent.kill()
            sim.stop()
