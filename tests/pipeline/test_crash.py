"""SIGKILL a real `evy run` at each pipeline step, restart it on the same simulated modem and SIM, and prove
that every message got exactly one reply (each part sent once) and the database is intact. The same check
covers a modem that vanishes (USB unplugged) for longer than the outbox's attempt budget and comes back,
with the agent left running or killed meanwhile.

Each case prints one line of the matrix: messages, kills, answered exactly once, lost, duplicated parts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evy.crash import POINTS
from evy.pipeline.kit import join_replies
from evy.sms.simulator import ModemSimulator
from evy.store import Store
from evy.store import cases as case_store

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

SENDERS = ["+254700000101", "+254700000102", "+254700000103"]
KILLS_PER_POINT = 3
LONG = "we are stuck on the roof of the school with 12 children, the water is still rising, please send a boat " * 2


def tally(point: str, sim: ModemSimulator, kills: int) -> dict[str, int]:
    """The matrix line for one case: how many senders got exactly one whole reply, none, or a part twice."""
    replies = join_replies(list(sim.sent))
    whole = {sender: sum(1 for r in replies if r.recipient == sender and r.complete) for sender in SENDERS}
    seqs = [(p.submit.recipient, p.submit.concat.seq if p.submit.concat else 1) for p in sim.sent]
    counts = {"messages": len(SENDERS), "kills": kills,
              "exactly_once": sum(1 for n in whole.values() if n == 1),
              "lost": sum(1 for n in whole.values() if n == 0),
              "duplicated": len(seqs) - len(set(seqs))}
    print(f"crash-matrix {point}: " + " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def all_answered(sim: ModemSimulator) -> bool:
    return sum(r.complete for r in join_replies(list(sim.sent))) >= len(SENDERS)


def died_before_all_answered(agent: subprocess.Popen, sim: ModemSimulator, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if agent.poll() is not None:
            assert agent.returncode == -signal.SIGKILL, agent.stderr.read()
            return True
        if all_answered(sim):
            return False
        time.sleep(0.05)
    raise TimeoutError("the restarted agent neither crashed nor answered")


def wait_for_replies(sim: ModemSimulator, count: int, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = join_replies(list(sim.sent))
        if sum(r.complete for r in replies) >= count:
            time.sleep(1.5)  # anything extra (a duplicate) would leave now
            return join_replies(list(sim.sent))
        time.sleep(0.05)
    raise TimeoutError(f"only {len(join_replies(list(sim.sent)))} replies after {timeout} s")


@pytest.mark.parametrize("point", POINTS)
def test_kill_at_each_step_still_answers_every_message_exactly_once(tmp_path, point, agents):
    sim = ModemSimulator().start()
    config = tmp_path / "evy.toml"
    config.write_text(f'country = "KE"\ndata_dir = "{tmp_path}"\n[modem]\nport = "{sim.port}"\n'
                      "command_timeout = 2.0\nretry_backoff = 0.05\n[outbox]\nbackoff = 0.2\n"
                      "[brain]\nfollowup = false\n")
    try:
        agent = agents.start(config, crash_at=point)
        start = datetime.now(UTC).replace(microsecond=0)
        for n, sender in enumerate(SENDERS):
            sim.deliver(sender, LONG if n == 1 else f"help {n}, fire near the clinic", timestamp=start)
        assert agent.wait(timeout=30) == -signal.SIGKILL, f"the agent did not crash at {point}: {agent.stderr.read()}"
        kills = 1
        # Restarts die at the same step again (at its first occurrence) while that step still comes up:
        # a crash during recovery from a crash.
        while kills < KILLS_PER_POINT and not all_answered(sim):
            agent = agents.start(config, crash_at=point)
            if not died_before_all_answered(agent, sim):
                agent.send_signal(signal.SIGTERM)
                assert agent.wait(timeout=15) == 0
                break
            kills += 1

        agent = agents.start(config)
        replies = wait_for_replies(sim, len(SENDERS))
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=15) == 0, "SIGTERM stops the agent cleanly"

        counts = tally(point, sim, kills=kills)
        assert counts["exactly_once"] == len(SENDERS) and counts["duplicated"] == 0, counts
        assert sorted(r.recipient for r in replies) == SENDERS, f"one reply per sender: {replies}"
        assert all(r.complete and "999" in r.text for r in replies)
        seqs = [(p.submit.recipient, p.submit.concat.seq if p.submit.concat else 1) for p in sim.sent]
        assert len(seqs) == len(set(seqs)), "no part was sent twice"
        assert not [slot for slot in sim.storage.values() if slot.stat in (0, 1, 2)], "no message left on the SIM"
        with Store.open(tmp_path / "evy.db") as store:
            assert store.integrity_check() == "ok"
            states = store.db.execute("SELECT state, COUNT(*) FROM messages GROUP BY state").fetchall()
            assert [tuple(r) for r in states] == [("handled", len(SENDERS))]
            for sender in SENDERS:  # one case per sender, holding its message: a crash makes no second case
                case = case_store.latest_for(store, sender)
                assert case is not None and case.emergency
                assert [entry.direction for entry in case_store.thread(store, case.id)] == ["in", "out"]
            assert len(case_store.board(store, statuses=None)) == len(SENDERS)
    finally:
        sim.stop()


@pytest.mark.parametrize("kill", [False, True], ids=["modem_gone", "modem_gone_killed"])
def test_a_modem_gone_longer_than_the_attempt_budget_still_sends_every_reply_once(tmp_path, kill, agents):
    """The port vanishes right after the first part leaves (its answer never arrives), stays away far longer
    than three attempts' backoff, and comes back on another pty behind the same by-id style link."""
    link = tmp_path / "ttyModem"
    sim = ModemSimulator(link=str(link)).start()
    config = tmp_path / "evy.toml"
    config.write_text(f'country = "KE"\ndata_dir = "{tmp_path}"\n[modem]\nport = "{link}"\n'
                      "command_timeout = 1.0\nretry_backoff = 0.05\nheartbeat = 1.0\n"
                      "[outbox]\nbackoff = 0.1\nmax_attempts = 3\nmodem_hold = 0.5\n[brain]\nfollowup = false\n")
    budget = 0.1 * (2 ** 3 - 1)  # every backoff of three attempts
    gone = threading.Event()

    def unplug_after_the_first_send(sent) -> None:
        sim.on_sent = None
        sim.unplug()
        gone.set()

    sim.on_sent = unplug_after_the_first_send
    agent = agents.start(config)
    kills = 0
    try:
        start = datetime.now(UTC).replace(microsecond=0)
        for n, sender in enumerate(SENDERS):
            sim.deliver(sender, LONG if n == 1 else f"help {n}, fire near the clinic", timestamp=start)
        assert gone.wait(30), "the first part was sent"
        if kill:
            agent.send_signal(signal.SIGKILL)
            agent.wait(timeout=10)
            kills = 1
            agent = agents.start(config)  # it waits for a modem that is not there
        time.sleep(2.0)
        busy = cpu_seconds(agent.pid)
        time.sleep(max(4.0, 4 * budget))
        assert agent.poll() is None, "the agent waits for the modem"
        assert cpu_seconds(agent.pid) - busy < 1.0, "waiting for the modem does not spin the CPU"
        sim.plug()
        wait_for_replies(sim, len(SENDERS), timeout=40)
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=15) == 0
        counts = tally("modem_gone_killed" if kill else "modem_gone", sim, kills)
        assert counts["exactly_once"] == len(SENDERS) and counts["duplicated"] == 0, counts
        with Store.open(tmp_path / "evy.db") as store:
            rows = [tuple(r) for r in store.db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state")]
            assert rows == [("sent", len(SENDERS))], f"no reply given up: {rows}"
    finally:
        if agent.poll() is None:
            agent.kill()
        sim.stop()


def test_wrong_pin_is_tried_once_ever_and_the_agent_waits(tmp_path, agents):
    sim = ModemSimulator(pin="1234").start()
    config = tmp_path / "evy.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[modem]\nport = "{sim.port}"\npin = "0000"\ncommand_timeout = 2.0\n')
    try:
        agent = agents.start(config)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and sim.pin_attempts == 0:
            time.sleep(0.1)
        time.sleep(2.0)
        assert sim.pin_attempts == 1 and agent.poll() is None, "one attempt, and the agent stays up"
        status = subprocess.run([sys.executable, "-m", "evy", "status", "--config", str(config)],
                                capture_output=True, text=True, timeout=30)
        assert '"state": "sim-locked"' in status.stdout
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=15) == 0

        again = agents.start(config)  # a restart (or a reboot) must not spend a second attempt
        time.sleep(4.0)
        again.send_signal(signal.SIGTERM)
        assert again.wait(timeout=15) == 0
        assert "refused modem.pin earlier" in again.stderr.read()
        assert sim.pin_attempts == 1, "the refused PIN was never entered again"
    finally:
        sim.stop()
