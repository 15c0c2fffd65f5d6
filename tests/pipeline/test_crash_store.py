"""Crash matrix for the store's faults: a damaged database and a full disk at start. A real `evy run` is
SIGKILLed mid-pipeline, its database damaged (or its partition filled), and restarted on the same simulated
modem; once the fault clears every message must have exactly one reply. Each test prints its counts."""

from __future__ import annotations

import signal
import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evy.pipeline.kit import join_replies
from evy.sms.simulator import ModemSimulator
from evy.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

TEXTS = ["help, fire near the clinic", "my son fell through ice not breathing",
         "we are stuck on the roof of the school with 12 children, the water is still rising, please send a boat "
         "now, the current is too strong to swim and two of the children are hurt",
         "snake bite on my leg, what do I do"]


def config_file(directory: Path, data_dir: Path, port: str) -> Path:
    config = directory / "evy.toml"
    config.write_text(f'country = "KE"\ndata_dir = "{data_dir}"\n[modem]\nport = "{port}"\n'
                      "command_timeout = 2.0\nretry_backoff = 0.05\n[outbox]\nbackoff = 0.2\n"
                      "[brain]\nfollowup = false\n")
    return config


def deliver(sim: ModemSimulator, senders: list[str]) -> None:
    at = datetime.now(UTC).replace(microsecond=0)
    for sender, text in zip(senders, TEXTS, strict=False):
        sim.deliver(sender, text, timestamp=at)


def wait_answered(sim: ModemSimulator, senders: list[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = {r.recipient for r in join_replies(list(sim.sent)) if r.complete}
        if set(senders) <= done:
            break
        time.sleep(0.1)
    time.sleep(2.0)  # a duplicate would leave now


def count(sim: ModemSimulator, senders: list[str]) -> Counter:
    replies = Counter(r.recipient for r in join_replies(list(sim.sent)) if r.complete)
    parts = Counter((p.submit.recipient, p.submit.concat.ref if p.submit.concat else None,
                     p.submit.concat.seq if p.submit.concat else 1) for p in sim.sent)
    twice = {recipient for (recipient, _, _), n in parts.items() if n > 1}
    tally = Counter(messages=len(senders))
    for sender in senders:
        n = replies[sender]
        tally["answered exactly once"] += n == 1 and sender not in twice
        tally["lost"] += n == 0
        tally["duplicated"] += n > 1 or sender in twice
    return tally


def checkpoint(path: Path) -> None:
    """What a kit's database looks like some time after a crash: the log folded into the file."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def damage_table(path: Path, table: str) -> None:
    checkpoint(path)
    db = sqlite3.connect(path)
    try:
        pages = [r[0] for r in db.execute("SELECT pageno FROM dbstat WHERE name = ? ORDER BY pageno", (table,))]
        size = db.execute("PRAGMA page_size").fetchone()[0]
    except sqlite3.OperationalError:
        pytest.skip("this SQLite has no dbstat table to find a table's pages")
    finally:
        db.close()
    with open(path, "r+b") as file:
        file.seek((pages[-1] - 1) * size)
        file.write(b"\xa5" * size)


def empty_file(path: Path) -> None:
    checkpoint(path)
    path.write_bytes(b"")


def not_a_database(path: Path) -> None:
    checkpoint(path)
    path.write_bytes(b"\0" * 4096 * 4)


DAMAGE = [  # (what is damaged, how, where the kill left the pipeline)
    ("messages page", lambda p: damage_table(p, "messages"), "after_reply_queued:2"),
    ("parts page", lambda p: damage_table(p, "parts"), "after_reply_queued:1"),
    ("outbox page", lambda p: damage_table(p, "outbox"), "after_reply_queued:1"),
    ("outbox_parts page", lambda p: damage_table(p, "outbox_parts"), "after_modem_write:1"),
    ("0-byte file", empty_file, "after_store:1"),
    ("not a database", not_a_database, "after_receive:1"),
]


def test_crash_matrix_damaged_database(tmp_path, agents):
    total = Counter()
    for case, (name, damage, crash_at) in enumerate(DAMAGE):
        directory = tmp_path / f"case{case}"
        directory.mkdir()
        sim = ModemSimulator().start()
        config = config_file(directory, directory, sim.port)
        senders = [f"+2547110{case:02d}{n:03d}" for n in range(len(TEXTS))]
        try:
            agent = agents.start(config, crash_at)
            deliver(sim, senders)
            assert agent.wait(timeout=60) == -signal.SIGKILL, f"{name}: no crash at {crash_at}: {agents.stop(agent)}"
            damage(directory / "evy.db")
            agent = agents.start(config)
            wait_answered(sim, senders)
            stderr = agents.stop(agent)
            assert agent.returncode == 0, f"{name}: {stderr[-2000:]}"
            tally = count(sim, senders)
            total += tally + Counter(kills=1, faults=1)
            assert tally["answered exactly once"] == len(senders), f"{name} ({crash_at}): {dict(tally)}"
            assert "started a fresh store" in stderr, f"{name}: the incident is logged"
            with Store.open(directory / "evy.db") as store:
                assert store.integrity_check() == "ok"
                assert store.db.execute("SELECT COUNT(*) FROM incidents").fetchone()[0] == 1
        finally:
            sim.stop()
    print(f"\ncrash matrix, damaged database: {dict(total)}")
    assert total["lost"] == total["duplicated"] == 0






FULL_DISK = [  # where the kill lands while the store lives in memory (or moves back to disk)
    "after_receive:1",  # a part read, not yet in the store in memory
    "after_store:2",  # parts in the store in memory, all still on the SIM
    "after_reply_queued:2",  # answers queued in memory, none sent
    "idle",  # everything answered and freed from the SIM, then killed
    "after_persist:1",  # the store just moved back to disk, the SIM not yet swept
]


def test_crash_matrix_full_disk_at_start(tmp_path, small_partition, fill_disk, agents):
    total = Counter()
    for case, crash_at in enumerate(FULL_DISK):
        data_dir = small_partition / f"case{case}"
        data_dir.mkdir()
        directory = tmp_path / f"case{case}"
        directory.mkdir()
        sim = ModemSimulator(storage_size=30).start()
        config = config_file(directory, data_dir, sim.port)
        senders = [f"+2547220{case:02d}{n:03d}" for n in range(len(TEXTS))]
        ballast = fill_disk(small_partition / "ballast")
        try:
            if crash_at == "after_persist:1":
                agent = agents.start(config, crash_at)
                deliver(sim, senders)
                wait_answered(sim, senders)
                ballast.unlink()
                assert agent.wait(timeout=60) == -signal.SIGKILL, f"no crash at {crash_at}: {agents.stop(agent)}"
            elif crash_at == "idle":
                agent = agents.start(config)
                deliver(sim, senders)
                wait_answered(sim, senders)
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and any(s.stat in (0, 1) for s in sim.storage.values()):
                    time.sleep(0.1)
                agent.kill()
                agent.wait(timeout=10)
            else:
                agent = agents.start(config, crash_at)
                deliver(sim, senders)
                assert agent.wait(timeout=60) == -signal.SIGKILL, f"no crash at {crash_at}: {agents.stop(agent)}"
            agent = agents.start(config)  # restarted by systemd, on a disk that may still be full
            wait_answered(sim, senders)
            if ballast.exists():
                ballast.unlink()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (
                    not (data_dir / "evy.db").exists() or any(s.stat in (0, 1) for s in sim.storage.values())):
                time.sleep(0.2)
            time.sleep(1.0)
            stderr = agents.stop(agent)
            assert agent.returncode == 0, f"{crash_at}: {stderr[-2000:]}"
            tally = count(sim, senders)
            total += tally + Counter(kills=1, faults=1)
            assert tally["answered exactly once"] == len(senders), f"full disk, {crash_at}: {dict(tally)}"
            assert not any(s.stat in (0, 1) for s in sim.storage.values()), "the SIM is freed in the end"
            with Store.open(data_dir / "evy.db") as store:
                assert store.integrity_check() == "ok"
                handled = store.db.execute("SELECT COUNT(*) FROM messages WHERE state = 'handled'").fetchone()[0]
            # A kill while in memory loses the record of what was settled and freed from the SIM, never a message.
            assert handled == (0 if crash_at == "idle" else len(senders))
        finally:
            if ballast.exists():
                ballast.unlink()
            sim.stop()
    print(f"\ncrash matrix, full disk at start: {dict(total)}")
    assert total["lost"] == total["duplicated"] == 0
