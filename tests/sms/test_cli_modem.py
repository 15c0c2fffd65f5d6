"""`evy modem check|list|explain` against the simulated modem, as a separate process like a technician runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from evy.sms.simulator import ModemSimulator

AGENT = Path(__file__).resolve().parents[2] / "agent"


def evy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evy", *args], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(AGENT), "PATH": "/usr/bin:/bin"})


def test_check_and_list(tmp_path):
    config = tmp_path / "evy.toml"
    config.write_text('[modem]\nprofile = "sim800"\ncommand_timeout = 1.0\n')
    with ModemSimulator() as simulator:
        simulator.deliver("+254711000111", "Habari, tunahitaji maji")
        result = evy("modem", "check", "--config", str(config), "--port", simulator.port)
        assert result.returncode == 0, result.stderr
        state = json.loads(result.stdout)
        assert state["state"] == "ready" and state["cnmi"] == "2,1,0,1,0" and state["capacity"] == [1, 20]
        assert state["identity"] == "SIM800 R14.18" and state["operator"] == "Safaricom"
        listed = json.loads(evy("modem", "list", "--config", str(config), "--port", simulator.port).stdout)
        assert [(m["location"], m["sender"], m["text"]) for m in listed] == [
            (1, "+254711000111", "Habari, tunahitaji maji")]
        assert simulator.stored  # listing never deletes


def test_a_port_in_use_is_one_clear_line(tmp_path):
    config = tmp_path / "evy.toml"
    config.write_text("[modem]\ncommand_timeout = 1.0\n")
    with ModemSimulator() as simulator:
        import serial

        with serial.Serial(simulator.port, exclusive=True):
            result = evy("modem", "check", "--config", str(config), "--port", simulator.port)
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot open modem port") and result.stderr.count("\n") == 1


def test_explain():
    result = evy("modem", "explain", "cms", "322")
    assert json.loads(result.stdout)["action"].startswith("SIM storage is full")
