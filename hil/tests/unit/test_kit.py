"""The suite's view of the kit: typed options, command errors, mounts, boot time from the kit's clocks."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from evyhil.kit import Kit, KitCommandError, KitOptions
from evyhil.strategy import Status
from labgrid import Environment


class ScriptedShell:
    def __init__(self, answers: dict[str, tuple[list[str], int]]):
        self.answers, self.commands = answers, []

    def run(self, command, timeout=30.0):
        self.commands.append(command)
        for prefix, (lines, code) in self.answers.items():
            if command.startswith(prefix):
                return lines, [], code
        return [], [], 127


def make_kit(answers, powered_on_at=None):
    strategy = SimpleNamespace(status=Status.shell, shell=ScriptedShell(answers), powered_on_at=powered_on_at)
    return Kit(strategy, KitOptions())


def test_options_come_typed_from_the_env_file(tmp_path):
    config = tmp_path / "env.yaml"
    config.write_text("targets: {main: {}}\noptions: {power_cut_cycles: '7', sms_timeout: 90, lora: 'no radio'}\n")
    options = KitOptions.from_env(Environment(str(config)))
    assert (options.power_cut_cycles, options.sms_timeout, options.lora) == (7, 90.0, "no radio")
    assert options.agent_unit == "evy-agent.service"


def test_failed_command_names_command_code_and_output():
    kit = make_kit({"false": (["first", "second", "last words"], 3)})
    with pytest.raises(KitCommandError, match=r"`false` exited 3 on the kit: first \| second \| last words"):
        kit.run("false")


def test_mount_reads_findmnt_json():
    kit = make_kit({"findmnt -n -J -o SOURCE,FSTYPE,OPTIONS --mountpoint /var/lib/evy": (
        ['{"filesystems": [', '{"source": "/dev/vda3", "fstype": "ext4", "options": "rw,noatime"}', "]}"], 0)})
    assert kit.mount("/var/lib/evy") == {"source": "/dev/vda3", "fstype": "ext4", "options": "rw,noatime"}
    assert kit.mount("/nowhere") == {}


def test_agent_ready_is_mapped_onto_the_host_clock():
    # The kit has been up 100 s and the agent became active 60 s after the kernel started; power-on was
    # 5 s before the kernel started (firmware, kernel load), so the agent was ready 65 s after power-on.
    now = time.monotonic()
    kit = make_kit({"cat /proc/uptime": (["100.00 180.00", "60000000"], 0)}, powered_on_at=now - 105)
    assert kit.agent_ready_after_power_on() == pytest.approx(65, abs=0.5)


def test_agent_never_active_is_none():
    kit = make_kit({"cat /proc/uptime": (["100.00 180.00", "0"], 0)}, powered_on_at=time.monotonic())
    assert kit.agent_ready_after_power_on() is None


class LocalShell:
    """The kit's shell as this machine's `sh`, for commands that must really run."""

    def __init__(self):
        self.commands = []

    def run(self, command, timeout=30.0):
        import subprocess

        self.commands.append(command)
        done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=timeout)
        return done.stdout.splitlines(), done.stderr.splitlines(), done.returncode


def test_outbox_texts_reads_the_kits_database_by_kind(tmp_path):
    import getpass
    import os
    import sqlite3
    from pathlib import Path

    if os.geteuid() != 0:
        pytest.skip("runs the kit's command, runuser, which needs root")

    schema = Path(__file__).resolve().parents[3] / "agent" / "evy" / "store" / "schema.sql"
    db = sqlite3.connect(tmp_path / "evy.db")
    db.executescript(schema.read_text())
    db.execute("PRAGMA journal_mode=WAL")
    for message_id, kind, text in ((1, "reply", "Call 112 now. Start CPR"), (1, "followup", "Push hard: 'fast'"),
                                   (2, "reply", "Move to high ground. Call 112")):
        db.execute("INSERT INTO outbox (message_id, kind, recipient, text, encoding, priority, next_attempt, "
                   "created_at) VALUES (?, ?, '+254700000001', ?, 'gsm7', 0, 0, 0)", (message_id, kind, text))
    db.commit()
    strategy = SimpleNamespace(status=Status.shell, shell=LocalShell(), powered_on_at=None)
    kit = Kit(strategy, KitOptions(data_dir=str(tmp_path), agent_user=getpass.getuser()))
    assert kit.outbox_texts("followup") == ["Push hard: 'fast'"]
    assert kit.outbox_texts("reply") == ["Call 112 now. Start CPR", "Move to high ground. Call 112"]


def test_agent_serving_waits_past_ready_until_the_modem_is_open():
    import json

    states = iter(["unknown", "starting", "ready"])

    class Booting(ScriptedShell):
        def run(self, command, timeout=30.0):
            self.commands.append(command)
            return [json.dumps({"modem": {"state": next(states)}})], [], 0

    strategy = SimpleNamespace(status=Status.shell, shell=Booting({}), powered_on_at=None)
    kit = Kit(strategy, KitOptions())
    assert kit.agent_serving(timeout=30, poll=0.01)["modem"]["state"] == "ready"
    assert len(strategy.shell.commands) == 3
    stuck = Kit(SimpleNamespace(status=Status.shell, shell=ScriptedShell({"runuser": (
        ['{"modem": {"state": "down"}}'], 0)}), powered_on_at=None), KitOptions())
    assert stuck.agent_serving(timeout=0.05, poll=0.01)["modem"]["state"] == "down"
