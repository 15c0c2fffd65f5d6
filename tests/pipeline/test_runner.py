"""`evy run` and systemd's watchdog: WATCHDOG=1 is sent only while the main loop makes progress."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

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


def test_a_loop_retrying_a_silent_modem_stops_feeding_the_watchdog(tmp_path):
    """A modem that swallows every command (left at a `>` prompt, hung firmware): the agent retries, but
    after one watchdog timeout without progress systemd must be left to restart it."""
    master, slave = os.openpty()  # a serial port with a modem that never answers
    config = tmp_path / "evy.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[modem]\nport = "{os.ttyname(slave)}"\ncommand_timeout = 0.3\n'
                      "[brain]\nfollowup = false\n")
    notify_path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(notify_path)
    timeout = 2.0
    env = {**os.environ, "NOTIFY_SOCKET": notify_path, "WATCHDOG_USEC": str(int(timeout * 1e6))}
    agent = subprocess.Popen([sys.executable, "-m", "evy", "run", "--config", str(config)], env=env,
                             stderr=subprocess.PIPE, text=True)
    try:
        received = notifications(listener, 4 * timeout)
        ready_at = next(at for at, m in received if m.startswith("READY=1"))
        late = [at - ready_at for at, m in received if "WATCHDOG=1" in m and at - ready_at > timeout]
        assert agent.poll() is None, "the agent is still retrying"
        assert not late, f"the watchdog was fed {len(late)} times after {timeout} s without progress"
    finally:
        agent.send_signal(signal.SIGTERM)
        try:
            agent.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            agent.kill()
        listener.close()
        os.close(master)
        os.close(slave)


def test_a_healthy_idle_loop_keeps_feeding_the_watchdog(tmp_path):
    from evy.sms.simmodem import SimModem

    sim = SimModem().start()
    config = tmp_path / "evy.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[modem]\nport = "{sim.port}"\n[brain]\nfollowup = false\n')
    notify_path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(notify_path)
    timeout = 2.0
    env = {**os.environ, "NOTIFY_SOCKET": notify_path, "WATCHDOG_USEC": str(int(timeout * 1e6))}
    agent = subprocess.Popen([sys.executable, "-m", "evy", "run", "--config", str(config)], env=env,
                             stderr=subprocess.PIPE, text=True)
    try:
        received = notifications(listener, 4 * timeout)
        pings = [at for at, m in received if "WATCHDOG=1" in m]
        assert pings and max(b - a for a, b in zip([received[0][0], *pings], [*pings, received[-1][0]],
                                                   strict=True)) < timeout, "never a gap of a whole timeout"
        assert pings[-1] > received[0][0] + 3 * timeout
    finally:
        agent.send_signal(signal.SIGTERM)
        try:
            agent.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            agent.kill()
        listener.close()
        sim.stop()
