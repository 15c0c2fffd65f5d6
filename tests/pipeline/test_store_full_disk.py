"""A full data partition at start: `evy run` starts degraded, answers from a store in memory, leaves every
received message on the SIM, and moves the store to disk (freeing the SIM) once there is room. A real, tiny
tmpfs (needs root to mount) and a real `evy run` on the pty simulator."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evy.pipeline.kit import join_replies
from evy.sms.simulator import ModemSimulator
from evy.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

SENDERS = ["+254711000101", "+254711000102", "+254711000103"]






def write_config(tmp_path: Path, data_dir: Path, port: str) -> Path:
    config = tmp_path / "evy.toml"
    config.write_text(f'country = "KE"\ndata_dir = "{data_dir}"\n[modem]\nport = "{port}"\n'
                      "command_timeout = 2.0\n[outbox]\nnetwork_hold = 1.0\n[brain]\nfollowup = false\n")
    return config


def wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def on_sim(sim: ModemSimulator) -> int:
    """Received messages still in the modem's storage (REC UNREAD or REC READ)."""
    return sum(1 for slot in sim.storage.values() if slot.stat in (0, 1))


def status(config: Path) -> dict:
    result = subprocess.run([sys.executable, "-m", "evy", "status", "--config", str(config)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("history", [False, True], ids=["first-start", "restart-with-history"])
def test_a_full_disk_at_start_answers_from_memory_and_keeps_every_message_on_the_sim(tmp_path, small_partition,
                                                                                     fill_disk, history, agents):
    sim = ModemSimulator(storage_size=30).start()
    database = small_partition
    config = write_config(tmp_path, small_partition, sim.port)
    agent = None
    try:
        if history:  # a kit that has been answering, then restarts after the partition filled up
            agent = agents.start(config, stdout=None)
            sim.deliver("+254799000001", "STOP")
            assert wait_until(lambda: len(join_replies(list(sim.sent))) == 1, 30)
            agents.stop(agent)
        before = len(join_replies(list(sim.sent)))
        ballast = fill_disk(small_partition / "ballast")
        sim.fail_next("CMSS", cms=331, count=10)  # no network for ~10 s: the replies wait, so do the messages

        agent = agents.start(config, stdout=None)
        for n, sender in enumerate(SENDERS):
            sim.deliver(sender, f"help {n}, the bridge is gone and water is rising")
        sim.deliver("+254799000001", "are you there")  # opted out before: the copy in memory knows it
        expected = sorted(SENDERS + ([] if history else ["+254799000001"]))
        # The opted-out sender's message leaves the SIM once handled; the others wait for their replies.
        assert wait_until(lambda: on_sim(sim) == len(expected), 9), \
            "a message stays on the SIM until its reply has left"
        assert agent.poll() is None, "the agent keeps running"
        assert "disk full" in status(config)["store"]["state"]

        assert wait_until(lambda: len(join_replies(list(sim.sent))) >= before + len(expected), 40), \
            "answered from memory although the disk is full"
        assert wait_until(lambda: on_sim(sim) == 0, 20), "answered messages are freed from the SIM"
        assert agent.poll() is None and "disk full" in status(config)["store"]["state"]

        ballast.unlink()
        handled = len(SENDERS) + 1 + int(history)

        def persisted() -> bool:
            if not (database / "evy.db").exists():
                return False
            report = status(config)
            return report["store"]["state"] == "ok" and report["inbox"]["messages_handled"] == handled

        assert wait_until(persisted, 60), "the store kept in memory is on disk once there is room"
        time.sleep(1.5)
        replies = join_replies(list(sim.sent))[before:]
        assert sorted(r.recipient for r in replies) == expected, "each answered exactly once, nobody twice"
    finally:
        stderr = agents.stop(agent) if agent is not None else ""
        sim.stop()
    assert "working from memory" in stderr and "there is room again" in stderr
    with Store.open(small_partition / "evy.db") as store:
        assert store.integrity_check() == "ok"
        verdicts = sorted(r[0] for r in store.db.execute("SELECT verdict FROM messages"))
    assert verdicts.count("answered") == len(SENDERS) + (0 if history else 1)
    assert ("ignored: opted out" in verdicts) == history


def test_a_disk_that_fills_while_the_agent_starts_is_met_as_a_full_disk_at_start(tmp_path, small_partition,
                                                                                 fill_disk, agents):
    """The store opened on disk, then the partition filled before the start's first write (here: while the
    agent waited for its modem). That was exit 2 and a restart loop; now the start goes on from memory."""
    modem_link = tmp_path / "modem"  # the modem appears only once the disk is full
    config = write_config(tmp_path, small_partition, str(modem_link))
    agent = agents.start(config, stdout=None)
    sim = ModemSimulator().start()
    try:
        assert wait_until(lambda: (small_partition / "evy.db").exists(), 30), "the store opened on disk"
        ballast = fill_disk(small_partition / "ballast")
        sim.deliver(SENDERS[0], "help, the bridge is gone and the water is rising")
        modem_link.symlink_to(sim.port)
        assert wait_until(lambda: join_replies(list(sim.sent)) or agent.poll() is not None, 60)
        assert agent.poll() is None, f"the agent stopped (exit {agent.returncode})"
        assert [r.recipient for r in join_replies(list(sim.sent))] == SENDERS[:1], "answered from memory"
        # (closing the file on the way to memory drops its WAL, which may already leave room to go back)
        ballast.unlink()

        def persisted() -> bool:
            report = status(config)
            return report["store"]["state"] == "ok" and report["inbox"]["messages_handled"] == 1

        assert wait_until(persisted, 60), "the store kept in memory is on disk once there is room"
        assert len(join_replies(list(sim.sent))) == 1, "answered once"
    finally:
        stderr = agents.stop(agent)
        sim.stop()
    assert "working from memory" in stderr and "there is room again" in stderr

