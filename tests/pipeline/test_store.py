"""The durable store on real SQLite files: dedupe, reassembly, outbox ordering, retries, reports."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from evy.sms.message import Concat, Deliver, Encoding, StatusReport
from evy.store import Store, StoreError, counters, inbox, outbox

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def part(text, *, sender="+254700000001", seq=None, total=None, ref=7, at=T0):
    concat = Concat(ref, total, seq) if seq else None
    return Deliver(sender=sender, text=text, encoding=Encoding.GSM7, timestamp=at, concat=concat)


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "evy.db") as store:
        yield store


def test_database_is_wal_and_durable(store):
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert store.integrity_check() == "ok"


def test_the_same_part_stored_twice_is_one_part(store):
    assert inbox.add_part(store, part("help"), "00AA")
    assert not inbox.add_part(store, part("help"), "00AA")
    assert inbox.assemble(store, 600) == 1
    assert [m.inbound.text for m in inbox.pending(store)] == ["help"]


def test_two_messages_in_the_same_second_stay_two(store):
    assert inbox.add_part(store, part("help"), "00")
    assert inbox.add_part(store, part("STOP"), "00")
    assert inbox.assemble(store, 600) == 2


def test_same_text_at_another_time_is_another_message(store):
    inbox.add_part(store, part("help"), "00")
    inbox.add_part(store, part("help", at=T0 + timedelta(minutes=1)), "00")
    assert inbox.assemble(store, 600) == 2


def test_multipart_out_of_order_with_a_duplicate_is_reassembled_once(store):
    for seq in (3, 1, 1, 2):
        inbox.add_part(store, part(f"<{seq}>", seq=seq, total=3, at=T0 + timedelta(seconds=seq)), "00")
    assert inbox.assemble(store, 600) == 1
    [message] = inbox.pending(store)
    assert message.inbound.text == "<1><2><3>" and not message.inbound.incomplete


def test_missing_part_waits_then_answers_what_arrived(store):
    inbox.add_part(store, part("first ", seq=1, total=3), "00", now=1000.0)
    inbox.add_part(store, part("third", seq=3, total=3), "00", now=1001.0)
    assert inbox.assemble(store, 600, now=1500.0) == 0
    assert inbox.next_multipart_deadline(store, 600) == 1600.0
    assert inbox.assemble(store, 600, now=1601.0) == 1
    [message] = inbox.pending(store)
    assert message.inbound.text == "first third" and message.inbound.incomplete


def test_two_senders_reusing_one_reference_stay_apart(store):
    inbox.add_part(store, part("A1", sender="+111111111", seq=1, total=2), "00")
    inbox.add_part(store, part("B1", sender="+222222222", seq=1, total=2), "00")
    inbox.add_part(store, part("B2", sender="+222222222", seq=2, total=2), "00")
    inbox.add_part(store, part("A2", sender="+111111111", seq=2, total=2), "00")
    inbox.assemble(store, 600)
    assert sorted(m.inbound.text for m in inbox.pending(store)) == ["A1A2", "B1B2"]


def queue(store, message_id, priority, text="reply", kind="reply"):
    with store.transaction() as db:
        if message_id is not None:
            db.execute("INSERT OR IGNORE INTO messages(id, sender, text, encoding, received_at)"
                       " VALUES (?, 'x', 'q', 'gsm7', 0)", (message_id,))
        return outbox.enqueue(db, message_id=message_id, kind=kind, recipient="+254700000001", text=text,
                              encoding="gsm7", priority=priority, parts=[("00AA", 1), ("00BB", 1)], now=0.0)


def test_a_message_is_answered_once_per_kind(store):
    assert queue(store, 1, 3) is not None
    assert queue(store, 1, 3) is None
    assert queue(store, 1, 3, kind="followup") is not None


def test_emergencies_leave_first_and_failures_never_block(store):
    routine = queue(store, 1, 3)
    urgent = queue(store, 2, 0)
    assert [e.id for e in outbox.due(store, now=1.0)] == [urgent, routine]
    [first, _] = outbox.due(store, now=1.0)
    outbox.retry_later(store, first, "CMS ERROR 500", backoff=10, max_backoff=100, max_attempts=3)
    assert [e.id for e in outbox.due(store, now=1.0)] == [routine]


def test_backoff_doubles_and_gives_up(store):
    entry_id = queue(store, 1, 3)
    for attempt in range(1, 4):
        [entry] = [e for e in outbox.due(store, now=10**10) if e.id == entry_id]
        failed = outbox.retry_later(store, entry, "boom", backoff=1, max_backoff=3, max_attempts=3)
        assert failed == (attempt == 3)
    state, attempts = store.db.execute("SELECT state, attempts FROM outbox WHERE id = ?", (entry_id,)).fetchone()
    assert (state, attempts) == ("failed", 3)


def test_entry_is_sent_when_every_part_is_and_reports_attach(store):
    entry_id = queue(store, 1, 3)
    first, second = outbox.parts(store, entry_id)
    outbox.set_part(store, first, "sent", reference=41)
    assert store.db.execute("SELECT state FROM outbox").fetchone()[0] == "queued"
    outbox.set_part(store, second, "sent", reference=42)
    assert store.db.execute("SELECT state FROM outbox").fetchone()[0] == "sent"
    report = StatusReport(recipient="+254700000001", reference=42, status=0, timestamp=None, discharge_time=None)
    assert outbox.record_report(store, report)
    assert not outbox.record_report(store, StatusReport("+1", 99, 0, None, None))
    rows = store.db.execute("SELECT seq, report_status FROM outbox_parts ORDER BY seq").fetchall()
    assert [tuple(r) for r in rows] == [(1, None), (2, 0)]


def test_retention_keeps_unanswered_and_recent(store):
    inbox.add_part(store, part("old"), "00", now=100.0)
    inbox.assemble(store, 600, now=100.0)
    inbox.add_part(store, part("new", at=T0 + timedelta(days=1)), "00", now=10**6)
    inbox.assemble(store, 600, now=10**6)
    with store.transaction() as db:
        for message in inbox.pending(store):
            inbox.mark_handled(db, message.inbound.message_id, "answered")
    assert inbox.purge(store, older_than=1000.0) == 1
    assert store.db.execute("SELECT text FROM messages").fetchall()[0][0] == "new"


def next_concat_ref(store: Store) -> int:
    with store.transaction() as db:
        return counters.next_concat_ref(db)


def test_concat_counter_survives_reopen_and_wraps_at_256(tmp_path):
    with Store.open(tmp_path / "a.db") as store:
        assert [next_concat_ref(store) for _ in range(3)] == [0, 1, 2]
    with Store.open(tmp_path / "a.db") as store:
        assert next_concat_ref(store) == 3
        assert [next_concat_ref(store) for _ in range(252)][-1] == 255
        assert next_concat_ref(store) == 0


def test_concat_counter_rolls_back_with_the_reply_it_was_taken_for(tmp_path):
    with Store.open(tmp_path / "a.db") as store:
        assert next_concat_ref(store) == 0
        with pytest.raises(RuntimeError), store.transaction() as db:
            assert counters.next_concat_ref(db) == 1
            raise RuntimeError("the reply could not be queued")
        assert next_concat_ref(store) == 1


def test_corrupt_database_is_a_one_line_error(tmp_path):
    path = tmp_path / "evy.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open database") as info:
        Store.open(path)
    assert "\n" not in str(info.value)


def test_full_disk_is_a_store_error_and_loses_nothing_committed(store):
    inbox.add_part(store, part("kept"), "00")
    store.db.execute("PRAGMA max_page_count = 1")  # below the current size: every growth fails as full
    with pytest.raises(StoreError, match=r"disk full|database"):
        for n in range(200):
            inbox.add_part(store, part("x" * 150 + str(n), at=T0 + timedelta(seconds=n)), "00" * 100)
    assert store.db.execute("SELECT text FROM parts WHERE text = 'kept'").fetchone() is not None


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "evy.db"
    sqlite3.connect(path).execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="newer than this agent"):
        Store.open(path)
