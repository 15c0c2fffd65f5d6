"""`evy run` as systemd runs it: READY and WATCHDOG over $NOTIFY_SOCKET, clean SIGTERM, and `evy status`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from evy.pipeline.kit import join_replies
from evy.sms.simulator import ModemSimulator

pytestmark = pytest.mark.timeout(90)


def test_run_notifies_systemd_answers_and_reports_status(tmp_path):
    sim = ModemSimulator().start()
    config = tmp_path / "evy.toml"
    config.write_text(f'country = "PH"\ndata_dir = "{tmp_path}"\n[modem]\nport = "{sim.port}"\n'
                      "[brain]\nfollowup = false\n")
    notify_path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(notify_path)
    listener.settimeout(30)
    env = {**os.environ, "NOTIFY_SOCKET": notify_path, "WATCHDOG_USEC": "400000"}
    agent = subprocess.Popen([sys.executable, "-m", "evy", "run", "--config", str(config)], env=env,
                             stderr=subprocess.PIPE, text=True)
    try:
        messages = [listener.recv(4096).decode()]
        assert messages[0].startswith("READY=1")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any("WATCHDOG=1" in m for m in messages):
            messages.append(listener.recv(4096).decode())
        assert any("WATCHDOG=1" in m for m in messages), messages

        sim.deliver("+639171234567", "there is a fire in our street")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(r.complete for r in join_replies(list(sim.sent))):
            time.sleep(0.05)
        [reply] = join_replies(list(sim.sent))
        assert "911" in reply.text

        status = subprocess.run([sys.executable, "-m", "evy", "status", "--config", str(config)],
                                capture_output=True, text=True, timeout=30)
        report = json.loads(status.stdout)
        assert report["modem"]["state"] == "ready" and report["modem"]["operator"] == "Safaricom"
        assert report["inbox"]["messages_handled"] == 1 and report["outbox"]["sent"] == 1

        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=15) == 0
        assert "stopped" in agent.stderr.read()
    finally:
        if agent.poll() is None:
            agent.kill()
        listener.close()
        sim.stop()


def test_status_without_a_database_is_a_one_line_error(tmp_path):
    config = tmp_path / "evy.toml"
    config.write_text(f'data_dir = "{tmp_path / "none"}"\n')
    result = subprocess.run([sys.executable, "-m", "evy", "status", "--config", str(config)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and result.stderr.startswith("error: ") and result.stderr.count("\n") == 1


def test_status_reports_what_first_boot_made_of_the_seed(tmp_path):
    """The image's first boot writes firstboot-status.json beside the database; `evy status` shows it, so a
    rejected seed (wiped for its secrets) is visible without a console."""
    from evy.store import Store

    config = tmp_path / "evy.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n')
    Store.open(tmp_path / "evy.db").close()

    def status() -> dict:
        done = subprocess.run([sys.executable, "-m", "evy", "status", "--config", str(config)],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    assert "first_boot" not in status()
    record = {"seed": "rejected", "error": "evy-seed.toml: country: 'XX' is not a known country",
              "time": "2026-12-07T12:00:00Z"}
    (tmp_path / "firstboot-status.json").write_text(json.dumps(record))
    assert status()["first_boot"] == record
    (tmp_path / "firstboot-status.json").write_text("{not json")
    assert status()["first_boot"]["seed"] == "unknown"
