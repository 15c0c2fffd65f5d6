"""`evy run` and systemd's watchdog: WATCHDOG=1 is sent only while the main loop makes progress."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(90)


def notifications(listener: socket.socket, seconds: float) -> list[tuple[float, str]]:
    """(monotonic time, message) of every notification received in the next ``seconds``."""
    received = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        listener.settimeout(left)
        try:
            received.append((time.monotonic(), listener.recv(4096).decode()))
        except TimeoutError:
            break
    return received


def run_with_watchdog(tmp_path, port: str, timeout: float, modem_settings: str = ""):
    """A real `evy run` on ``port`` under a systemd-like watchdog of ``timeout`` s, and the socket its
    notifications arrive on."""
    config = tmp_path / "evy.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[modem]\nport = "{port}"\n{modem_settings}'
                      "[brain]\nfollowup = false\n")
    notify_path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(notify_path)
    env = {**os.environ, "NOTIFY_SOCKET": notify_path, "WATCHDOG_USEC": str(int(timeout * 1e6))}
    agent = subprocess.Popen([sys.executable, "-m", "evy", "run", "--config", str(config)], env=env,
                             stderr=subprocess.PIPE, text=True)
    return agent, listener


def test_a_loop_retrying_a_silent_modem_stops_feeding_the_watchdog(tmp_path, agents):
    """A modem that swallows every command (left at a `>` prompt, hung firmware): the agent retries, but
    after one watchdog timeout without progress systemd must be left to restart it."""
    master, slave = os.openpty()  # a serial port with a modem that never answers
    timeout = 2.0
    agent, listener = run_with_watchdog(tmp_path, os.ttyname(slave), timeout, "command_timeout = 0.3\n")
    try:
        received = notifications(listener, 4 * timeout)
        ready_at = next(at for at, m in received if m.startswith("READY=1"))
        late = [at - ready_at for at, m in received if "WATCHDOG=1" in m and at - ready_at > timeout]
        assert agent.poll() is None, "the agent is still retrying"
        assert not late, f"the watchdog was fed {len(late)} times after {timeout} s without progress"
    finally:
        agents.stop(agent, 15)
        listener.close()
        os.close(master)
        os.close(slave)


def test_a_healthy_idle_loop_keeps_feeding_the_watchdog(tmp_path, agents):
    from evy.sms.simulator import ModemSimulator

    sim = ModemSimulator().start()
    timeout = 2.0
    agent, listener = run_with_watchdog(tmp_path, sim.port, timeout)
    try:
        received = notifications(listener, 6 * timeout)
        ready_at = next(at for at, m in received if m.startswith("READY=1"))
        pings = [at for at, m in received if "WATCHDOG=1" in m]
        assert pings and pings[0] - ready_at < 30, "the loop starts well inside the field unit's 60 s watchdog"
        assert max(b - a for a, b in zip(pings, [*pings[1:], received[-1][0]], strict=True)) < timeout, \
            "never a gap of a whole timeout once the loop runs"
        assert pings[-1] > pings[0] + 2 * timeout
    finally:
        agents.stop(agent, 15)
        listener.close()
        sim.stop()


def test_damage_found_while_running_is_salvaged_and_the_kit_keeps_answering(tmp_path):
    """The SD card damages pages of a running kit's database: the next statement that reads them fails,
    the main loop moves the file aside, starts a fresh store with what can be read and answers on."""
    import sqlite3
    import threading

    from evy.pipeline.assemble import assembled
    from evy.pipeline.kit import join_replies, kit_config
    from evy.pipeline.runner import serve
    from evy.pipeline.sdnotify import Notifier
    from evy.sms.simulator import ModemSimulator
    from evy.store.report import status

    sim = ModemSimulator().start()
    config = kit_config(tmp_path, sim.port, 'country = "KE"\n[brain]\nfollowup = false\n')
    path = tmp_path / "evy.db"
    stop = threading.Event()
    with assembled(config, stop, Notifier()) as agent:
        store = agent.store
        loop = threading.Thread(target=serve, args=(agent, stop), daemon=True)
        loop.start()
        try:
            sim.deliver("+254711000001", "there is a fire in the market")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not join_replies(list(sim.sent)):
                time.sleep(0.05)
            other = sqlite3.connect(path, isolation_level=None)
            other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            pages = [r[0] for r in other.execute("SELECT pageno FROM dbstat WHERE name = 'messages_sender'")]
            size = other.execute("PRAGMA page_size").fetchone()[0]
            with open(path, "r+b") as file:
                for page in pages:
                    file.seek((page - 1) * size)
                    file.write(b"\xa5" * size)
            other.execute("INSERT INTO counters(name, value) VALUES ('touch', 1)")  # other caches see the change
            other.close()

            sim.deliver("+254711000002", "my neighbour collapsed and is not breathing")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(join_replies(list(sim.sent))) < 2:
                time.sleep(0.05)
            assert [r.recipient for r in join_replies(list(sim.sent))] == ["+254711000001", "+254711000002"]
            assert loop.is_alive(), "the main loop goes on"
            [incident] = status(store)["store"]["incidents"]
            assert "damaged" in incident["detail"] and Path(incident["moved_to"]).exists()
            assert store.integrity_check() == "ok"
        finally:
            stop.set()
            loop.join(timeout=10)
            sim.stop()
