"""Broadcasts on a real SQLite store: audiences, cost before sending, queueing at the modem's pace, STOP."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evy.broadcast import send
from evy.broadcast.send import Audience, BroadcastError
from evy.config import parse
from evy.messages import Priority
from evy.sms import pdu
from evy.store import Store, counters, outbox
from evy.store import broadcasts as store_broadcasts
from evy.store import cases as case_store
from evy.store.optouts import set_opted_out

NOW = 1_800_000_000.0


@pytest.fixture
def config():
    return parse('country = "KE"\nown_number = "+254700999888"\n[broadcast]\nsend_interval = 5.0\n')


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "evy.db") as opened:
        yield opened


def received(db, sender, at):
    db.execute("INSERT INTO messages(sender, text, encoding, received_at, state) VALUES (?, 'hi', 'gsm7', ?,"
                     " 'handled')", (sender, at))


def test_cost_counts_segments_times_recipients_in_the_texts_encoding():
    plain = send.text_cost("Water at the school from 9am.", 40, max_segments=3)
    assert (plain.encoding, plain.segments, plain.total_sms) == ("gsm7", 1, 40)
    long = send.text_cost("x" * 161, 10, max_segments=3)
    assert (long.segments, long.total_sms) == (2, 20)
    unicode = send.text_cost("Мы здесь " * 10, 3, max_segments=3)  # Cyrillic: UCS-2, 67 units per part
    assert (unicode.encoding, unicode.segments, unicode.total_sms) == ("ucs2", 2, 6)


@pytest.mark.parametrize(("text", "problem"), [("   ", "empty"), ("y" * 500, "takes 4 SMS")])
def test_a_text_that_cannot_go_as_written_is_refused_with_the_reason(text, problem):
    with pytest.raises(BroadcastError, match=problem):
        send.text_cost(text, 5, max_segments=3)


def test_audiences_leave_out_opted_out_short_codes_and_the_kit_itself(store, config):
    with store.transaction() as db:
        for number in ("+254711000001", "+254711000002", "+254711000003"):
            store_broadcasts.subscribe(db, number, "en", NOW)
        set_opted_out(db, "+254711000002", stopped=True, now=NOW)
        received(db, "+254722000001", NOW - 3600)
        received(db, "+254722000002", NOW - 30 * 3600)
        received(db, "+254711000002", NOW - 60)  # opted out
        received(db, "12345", NOW - 60)  # a short code
        received(db, "+254700999888", NOW - 60)  # the kit's own number
        case_store.open_case(db, "+254733000001", NOW - 100)
        closed = case_store.open_case(db, "+254733000002", NOW - 100)
        db.execute("UPDATE cases SET status = 'closed' WHERE id = ?", (closed.id,))
    assert send.recipients(store, config, Audience.SUBSCRIBERS) == ["+254711000001", "+254711000003"]
    assert send.recipients(store, config, "recent", hours=24, now=NOW) == ["+254722000001"]
    assert send.recipients(store, config, Audience.RECENT, hours=48, now=NOW) == ["+254722000002", "+254722000001"]
    assert send.recipients(store, config, Audience.OPEN_CASES) == ["+254733000001"]
    assert send.estimate(store, config, "Clinic open 8-17", Audience.SUBSCRIBERS).total_sms == 2


def test_stop_ends_a_subscription(store):
    with store.transaction() as db:
        store_broadcasts.subscribe(db, "+254711000001", "fr", NOW)
    assert store_broadcasts.is_subscribed(store, "+254711000001")
    with store.transaction() as db:
        set_opted_out(db, "+254711000001", stopped=True)
    assert not store_broadcasts.is_subscribed(store, "+254711000001")


def subscribe_all(store, numbers):
    with store.transaction() as db:
        for number in numbers:
            store_broadcasts.subscribe(db, number, "en", NOW)


def test_queued_at_the_lowest_priority_one_per_interval_after_any_broadcast_still_queued(store, config):
    numbers = [f"+25471100000{i}" for i in range(4)]
    subscribe_all(store, numbers)
    first = send.queue(store, config, "Shelter open at the church", Audience.SUBSCRIBERS, created_by="op", now=NOW)
    second = send.queue(store, config, "Road to Kisumu closed", Audience.SUBSCRIBERS, now=NOW + 1)
    rows = store.db.execute("SELECT recipient, priority, next_attempt, kind, text FROM outbox ORDER BY next_attempt"
                            ).fetchall()
    assert [r["next_attempt"] for r in rows] == [NOW + 5 * i for i in range(8)]
    assert {r["priority"] for r in rows} == {int(Priority.BROADCAST)} and {r["kind"] for r in rows} == {"broadcast"}
    assert [r["recipient"] for r in rows] == numbers * 2
    assert send.status(store, first)["recipients"] == 4 and send.status(store, first)["created_by"] == "op"
    assert send.status(store, second)["delivery"]["queued"] == 4
    assert [p.tpdu_length > 0 for p in outbox.parts(store, 1)] == [True]


def test_an_empty_audience_or_a_bad_text_queues_nothing(store, config):
    with pytest.raises(BroadcastError, match="subscribers audience is empty"):
        send.queue(store, config, "hello", Audience.SUBSCRIBERS)
    subscribe_all(store, ["+254711000001"])
    with pytest.raises(BroadcastError, match="at most 3"):
        send.queue(store, config, "z" * 1000, Audience.SUBSCRIBERS)
    assert store.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
    assert store.db.execute("SELECT COUNT(*) FROM broadcasts").fetchone()[0] == 0


def test_a_later_stop_cancels_what_has_not_begun_to_leave(store, config):
    subscribe_all(store, ["+254711000001", "+254711000002"])
    broadcast = send.queue(store, config, "Food at the market 10am", Audience.SUBSCRIBERS, now=NOW)
    with store.transaction() as db:
        set_opted_out(db, "+254711000002", stopped=True)
    delivery = send.status(store, broadcast)["delivery"]
    assert (delivery["queued"], delivery["cancelled"]) == (1, 1)
    assert [e.recipient for e in outbox.due(store, now=NOW + 3600)] == ["+254711000001"]


def test_cancel_stops_the_rest_and_delivery_reports_count(store, config):
    subscribe_all(store, ["+254711000001", "+254711000002", "+254711000003"])
    broadcast = send.queue(store, config, "Water point moved", Audience.SUBSCRIBERS, now=NOW)
    store.db.execute("UPDATE outbox_parts SET state = 'sent', reference = 7, sent_at = ?, report_status = 0"
                     " WHERE outbox_id = 1", (time.time(),))
    store.db.execute("UPDATE outbox SET state = 'sent' WHERE id = 1")
    store.db.execute("UPDATE outbox_parts SET state = 'sent' WHERE outbox_id = 2")
    store.db.execute("UPDATE outbox SET state = 'sent' WHERE id = 2")
    assert send.cancel(store, broadcast) == 1
    delivery = send.status(store, broadcast)["delivery"]
    assert delivery == {"recipients": 3, "queued": 0, "sent": 1, "delivered": 1, "failed": 0, "cancelled": 1}
    assert send.status(store, broadcast)["state"] == "cancelled"
    with pytest.raises(BroadcastError, match="no broadcast 99"):
        send.status(store, 99)


def test_finished_broadcasts_are_purged_after_the_retention_queued_ones_stay(store, config):
    subscribe_all(store, ["+254711000001", "+254711000002"])
    done = send.queue(store, config, "Old news", Audience.SUBSCRIBERS, now=NOW - 40 * 86400)
    store.db.execute("UPDATE outbox SET state = 'sent' WHERE id IN"
                     " (SELECT outbox_id FROM broadcast_recipients WHERE broadcast_id = ?)", (done,))
    waiting = send.queue(store, config, "Still going out", Audience.SUBSCRIBERS, now=NOW - 40 * 86400)
    assert store_broadcasts.purge(store, NOW - 30 * 86400) == 1
    assert [b.id for b in store_broadcasts.recent(store)] == [waiting]
    assert store.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 2
    assert store.db.execute("SELECT COUNT(*) FROM outbox_parts").fetchone()[0] == 2


def test_salvage_may_drop_a_broadcast_sms_without_breaking_its_broadcast(store, config):
    subscribe_all(store, ["+254711000001"])
    broadcast = send.queue(store, config, "Partly lost", Audience.SUBSCRIBERS, now=NOW)
    store.db.execute("DELETE FROM outbox_parts")
    store.db.execute("DELETE FROM outbox WHERE state = 'queued'")  # what salvage does to an entry with no parts
    assert send.status(store, broadcast)["delivery"]["recipients"] == 0


def test_each_recipient_of_a_long_broadcast_gets_its_own_concatenation_reference(store, config):
    numbers = [f"+2547110000{i:02d}" for i in range(3)]
    subscribe_all(store, numbers)
    with store.transaction() as db:
        before = counters.next_concat_ref(db)
    send.queue(store, config, "Long notice. " * 20, Audience.SUBSCRIBERS, now=NOW)
    refs = []
    for entry in outbox.due(store, now=NOW + 3600):
        decoded = {pdu.decode(part.pdu).concat.ref for part in outbox.parts(store, entry.id)}
        assert len(decoded) == 1  # the parts of one SMS share it
        refs += decoded
    assert refs == [(before + 1 + i) % 256 for i in range(3)]
    with store.transaction() as db:
        assert counters.next_concat_ref(db) == (before + 4) % 256


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 255), st.integers(0, 600))
def test_reserved_references_are_consecutive_and_wrap(start, count):
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "evy.db") as store, store.transaction() as db:
        db.execute("INSERT INTO counters(name, value) VALUES ('concat_ref', ?)", (start,))
        refs = counters.reserve_concat_refs(db, count)
        assert refs == [(start + 1 + i) % 256 for i in range(count)]
        assert counters.next_concat_ref(db) == (start + count + 1) % 256
