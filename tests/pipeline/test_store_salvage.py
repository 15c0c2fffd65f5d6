"""A damaged or empty database on real SQLite files: detected at open and at run time, moved aside with its
write-ahead log, a fresh store started with every row that can still be read, and the incident reported."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from evy.sms.message import Deliver, Encoding
from evy.store import Store, StoreCorrupt, inbox, modem_state, outbox
from evy.store.report import status

PHONE = "+254700000001"


def page_size(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("PRAGMA page_size").fetchone()[0]


def leaf_pages(path: Path, table: str) -> list[int]:
    db = sqlite3.connect(path)
    try:
        return [r[0] for r in db.execute("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf'"
                                         " ORDER BY pageno", (table,))]
    except sqlite3.OperationalError:
        pytest.skip("this SQLite has no dbstat table to find a table's pages")
    finally:
        db.close()


def damage(path: Path, page: int) -> None:
    size = page_size(path)
    with open(path, "r+b") as file:
        file.seek((page - 1) * size)
        file.write(b"\xa5" * size)


def fill(path: Path, handled: int = 400) -> None:
    """A kit's database: old handled messages, one waiting message, one queued reply, an opt-out."""
    with Store.open(path) as store:
        now = time.time()
        with store.transaction() as db:
            for n in range(handled):
                db.execute("INSERT INTO messages(sender, text, encoding, received_at, state, verdict)"
                           " VALUES (?, ?, 'gsm7', ?, 'handled', 'answered')",
                           (f"+2547000{n:05d}", f"old message {n} " + "x" * 150, now - 86400))
            db.execute("INSERT INTO optouts(sender, stopped_at) VALUES ('+254799999999', ?)", (now,))
            db.execute("INSERT INTO messages(sender, text, encoding, received_at)"
                       " VALUES (?, 'trapped by the flood, 2 children', 'gsm7', ?)", (PHONE, now))
            message_id = db.execute("INSERT INTO messages(sender, text, encoding, received_at, state, verdict)"
                                    " VALUES (?, 'fire', 'gsm7', ?, 'handled', 'answered')", (PHONE, now)).lastrowid
            outbox.enqueue(db, message_id=message_id, kind="reply", recipient=PHONE, text="Get out, call 999",
                           encoding="gsm7", priority=0, parts=[("00AA", 1)])
        modem_state.remember_rejected_pin(store, "hash-of-a-refused-pin")
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def test_a_damaged_page_is_an_error_at_open_and_the_agent_recovers_what_can_be_read(tmp_path):
    path = tmp_path / "evy.db"
    fill(path)
    pages = leaf_pages(path, "messages")
    damage(path, pages[len(pages) // 2])

    with pytest.raises(StoreCorrupt, match="damaged"):
        Store.open(path)
    with Store.open(path, recover=True) as store:
        assert store.integrity_check() == "ok"
        assert [m.inbound.text for m in inbox.pending(store)] == ["trapped by the flood, 2 children"]
        [entry] = outbox.due(store, now=time.time() + 1)
        assert entry.priority == 0 and [p.pdu for p in outbox.parts(store, entry.id)] == ["00AA"]
        assert store.db.execute("SELECT sender FROM optouts").fetchall()[0][0] == "+254799999999"
        assert modem_state.rejected_pin(store) == "hash-of-a-refused-pin"
        handled = store.db.execute("SELECT COUNT(*) FROM messages WHERE state = 'handled'").fetchone()[0]
        assert 300 < handled < 401, "only the rows on the damaged page are lost"
        report = status(store)
    [kept] = [p for p in tmp_path.glob("evy.db.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
    assert kept.stat().st_size > path.stat().st_size / 2, "the damaged file is kept whole"
    [incident] = report["store"]["incidents"]
    assert incident["moved_to"] == str(kept) and "damaged" in incident["detail"]
    assert incident["recovered"]["rows"]["optouts"] == 1 and "messages" in incident["recovered"]["partly_read"]


def test_an_empty_database_file_is_an_incident_not_a_silent_fresh_start(tmp_path):
    path = tmp_path / "evy.db"
    path.write_bytes(b"")
    with pytest.raises(StoreCorrupt, match="empty"):
        Store.open(path)
    with Store.open(path, recover=True) as store:
        [incident] = status(store)["store"]["incidents"]
    assert "0 bytes" in incident["detail"] and Path(incident["moved_to"]).exists()


def test_a_file_that_is_not_a_database_is_kept(tmp_path):
    path = tmp_path / "evy.db"
    path.write_bytes(b"this is not a database" * 100)
    with Store.open(path, recover=True) as store:
        assert store.integrity_check() == "ok"
        [incident] = status(store)["store"]["incidents"]
    assert Path(incident["moved_to"]).read_bytes() == b"this is not a database" * 100


def test_a_crashed_kits_write_ahead_log_moves_with_the_damaged_file(tmp_path):
    path = tmp_path / "evy.db"
    fill(path, handled=50)
    pages = leaf_pages(path, "messages")
    writer = sqlite3.connect(path, isolation_level=None)  # a kit that died with commits only in its log
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("INSERT INTO optouts(sender, stopped_at) VALUES ('+254788888888', 1.0)")
    wal = path.with_name("evy.db-wal").read_bytes()
    damage(path, pages[-1])
    copy = tmp_path / "crashed"
    copy.mkdir()
    (copy / "evy.db").write_bytes(path.read_bytes())
    (copy / "evy.db-wal").write_bytes(wal)
    writer.close()
    with Store.open(copy / "evy.db", recover=True) as store:
        senders = {r[0] for r in store.db.execute("SELECT sender FROM optouts")}
        [incident] = status(store)["store"]["incidents"]
    assert senders == {"+254799999999", "+254788888888"}, "commits only in the log are recovered too"
    kept = Path(incident["moved_to"])
    assert kept.with_name(kept.name + "-wal").read_bytes() == wal, "the log is kept beside the damaged file"


def test_damage_found_at_run_time_is_a_store_error_and_is_salvaged_in_place(tmp_path):
    path = tmp_path / "evy.db"
    fill(path)
    pages = leaf_pages(path, "messages")
    store = Store.open(path)
    try:
        store.db.execute("PRAGMA cache_size = 1")  # read pages from the file, as after the cache is evicted
        inbox.pending(store)
        damage(path, pages[len(pages) // 2])
        with pytest.raises(StoreCorrupt) as info:
            inbox.recent_from(store, "+254700000200", 0)
        assert "\n" not in str(info.value)
        from evy.store import salvage

        salvage.replace_damaged(store, str(info.value))
        assert [m.inbound.text for m in inbox.pending(store)] == ["trapped by the flood, 2 children"]
        assert store.integrity_check() == "ok" and store.durable
    finally:
        store.close()


def test_a_reply_lost_with_the_damage_is_answered_again_and_its_message_id_stays_reserved(tmp_path):
    path = tmp_path / "evy.db"
    fill(path, handled=10)
    with Store.open(path) as store:
        with store.transaction() as db:  # what a lost outbox page looks like: one reply gone, one message gone
            db.execute("DELETE FROM outbox_parts")
            db.execute("DELETE FROM outbox")
            message = Deliver(sender=PHONE, text="second", encoding=Encoding.GSM7, timestamp=None)
        inbox.add_part(store, message, "00BB")
        inbox.assemble(store, 600)
        lost = inbox.pending(store)[-1].inbound.message_id
        with store.transaction() as db:
            outbox.enqueue(db, message_id=lost, kind="reply", recipient=PHONE, text="ok", encoding="gsm7",
                           priority=3, parts=[("00CC", 1)])
            inbox.mark_handled(db, lost, "answered")
            db.execute("PRAGMA foreign_keys = OFF")
        store.db.execute("PRAGMA foreign_keys = OFF")
        store.db.execute("DELETE FROM messages WHERE id = ?", (lost,))
        from evy.store import salvage

        repaired = salvage.repair_references(store.db.raw)
        assert repaired == {"placeholders": 1, "rejoined_parts": 0, "answered_again": 1}
        texts = [m.inbound.text for m in inbox.pending(store)]
        assert texts == ["trapped by the flood, 2 children", "fire"], "the fire message is answered again"
        inbox.add_part(store, Deliver(sender=PHONE, text="third", encoding=Encoding.GSM7, timestamp=None), "00DD")
        inbox.assemble(store, 600)
        newest = inbox.pending(store)[-1].inbound.message_id
        assert newest > lost, "a new message never takes the id a surviving reply points at"


def test_status_reports_the_incident_as_json(tmp_path):
    path = tmp_path / "evy.db"
    path.write_bytes(b"\0" * 4096)
    with Store.open(path, recover=True) as store:
        report = status(store)
    json.dumps(report)
    assert report["store"]["state"] == "ok" and report["store"]["incidents"][0]["kind"] == "damaged"


def test_a_file_that_cannot_be_copied_to_memory_is_never_overwritten(tmp_path):
    """The store went to memory without a copy of the file (another process held it locked): going back to
    disk keeps the old file aside and merges its opt-outs and refused PIN instead of writing over it."""
    path = tmp_path / "evy.db"
    fill(path, handled=5)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    store = Store(path)
    try:
        store.work_from_memory("test: disk full")
        holder.execute("ROLLBACK")
        holder.close()
        assert not store.durable and inbox.pending(store) == []
        inbox.add_part(store, Deliver(sender=PHONE, text="new while in memory", encoding=Encoding.GSM7,
                                      timestamp=None), "00EE")
        assert store.persist(force=True)
        assert store.db.execute("SELECT sender FROM optouts").fetchall()[0][0] == "+254799999999"
        assert modem_state.rejected_pin(store) == "hash-of-a-refused-pin"
        assert [r[0] for r in store.db.execute("SELECT text FROM parts")] == ["new while in memory"]
    finally:
        store.close()
    [kept] = [p for p in tmp_path.glob("evy.db.unmerged-*") if not p.name.endswith(("-wal", "-shm"))]
    with sqlite3.connect(kept) as old:
        assert old.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 7, "the old history is kept whole"
