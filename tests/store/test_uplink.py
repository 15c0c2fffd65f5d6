"""The uplink queue: case and message events commit with the change they describe, only while the fleet is
on; snapshots replace unsent ones; event numbers are never reused; a v3 database gains the queue."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

import pytest

from evy.store import Store, uplink
from evy.store import cases as case_store
from evy.store.db import SCHEMA_VERSION


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "evy.db") as opened:
        uplink.set_enabled(opened, True)
        yield opened


def types(store):
    return [event.type for event in sorted(uplink.next_batch(store, limit=1000), key=lambda e: e.seq)]


def test_a_case_opened_and_escalated_queues_its_events_in_the_same_transaction(store):
    with store.transaction() as db:
        case = case_store.open_case(db, "+254700000001", 10.0)
        case_store.save(db, replace(case, priority=0, emergency=True, category="medical", updated_at=11.0))
    events = sorted(uplink.next_batch(store), key=lambda e: e.seq)
    assert [e.type for e in events] == ["case.opened", "case.updated"]
    assert json.loads(events[1].data)["emergency"] is True and events[1].priority == 0
    # emergencies first: the escalation (priority 0) drains before the opening (priority 3)
    assert [e.type for e in uplink.next_batch(store)] == ["case.updated", "case.opened"]


def test_a_rolled_back_change_leaves_no_event(store):
    with pytest.raises(RuntimeError), store.transaction() as db:
        case_store.open_case(db, "+254700000001", 10.0)
        raise RuntimeError("crash before commit")
    assert types(store) == []


def test_nothing_is_queued_while_the_fleet_is_off(store):
    uplink.set_enabled(store, False)
    with store.transaction() as db:
        case_store.open_case(db, "+254700000001", 10.0)
    assert types(store) == [] and not uplink.is_enabled(store)


def test_status_location_and_a_save_that_changes_nothing(store):
    with store.transaction() as db:
        case = case_store.open_case(db, "+254700000001", 10.0)
        case_store.save(db, replace(case, updated_at=12.0, last_in_at=12.0))  # only times: no event
        case_store.save(db, replace(case, location_text="Kakuma market", latitude=3.7, longitude=34.8))
        case_store.save(db, replace(case, status="closed", location_text="Kakuma market", latitude=3.7,
                                    longitude=34.8))
    assert types(store) == ["case.opened", "case.location", "case.status"]


def test_messages_in_and_out_of_a_case(store):
    with store.transaction() as db:
        case = case_store.open_case(db, "+254700000001", 10.0)
        message = db.execute("INSERT INTO messages(sender, text, encoding, received_at) VALUES (?, ?, 'gsm7', 10)",
                             ("+254700000001", "help fire")).lastrowid
        case_store.attach_message(db, message, case.id)
        outbox = db.execute("INSERT INTO outbox(message_id, kind, recipient, text, encoding, priority, next_attempt,"
                            " created_at) VALUES (?, 'reply', ?, 'Call 112', 'gsm7', 1, 0, 10)",
                            (message, "+254700000001")).lastrowid
        broadcast = db.execute("INSERT INTO outbox(kind, recipient, text, encoding, priority, next_attempt, created_at)"
                               " VALUES ('broadcast', '+254700000002', 'shelter open', 'gsm7', 4, 0, 10)").lastrowid
    assert types(store) == ["case.opened", "message.in"]
    with store.transaction() as db:
        db.execute("UPDATE outbox SET state = 'sent', finished_at = 12 WHERE id IN (?, ?)", (outbox, broadcast))
    events = sorted(uplink.next_batch(store), key=lambda e: e.seq)
    assert [e.type for e in events] == ["case.opened", "message.in", "message.out"]  # not the broadcast
    assert json.loads(events[2].data) | {} == {"case": case.id, "recipient": "+254700000001", "outbox": outbox,
                                               "kind": "reply", "text": "Call 112", "state": "sent", "sent_at": 12.0}


def test_a_newer_snapshot_replaces_an_unsent_one_and_numbers_are_never_reused(store):
    first = uplink.queue_snapshot(store, "health", {"status": "ok"}, 1.0)
    second = uplink.queue_snapshot(store, "health", {"status": "degraded"}, 2.0)
    assert second > first
    assert [(e.seq, json.loads(e.data)) for e in uplink.next_batch(store)] == [(second, {"status": "degraded"})]
    assert uplink.acknowledged(store, [second]) == 1
    third = uplink.queue_snapshot(store, "metrics", {}, 3.0)
    assert third > second and uplink.last_seq(store) == third


def test_in_flight_events_are_skipped_and_acknowledged_ones_leave(store):
    with store.transaction() as db:
        for n in range(5):
            case_store.open_case(db, f"+2547000000{n:02d}", float(n))
    seqs = [e.seq for e in uplink.next_batch(store)]
    assert [e.seq for e in uplink.next_batch(store, skip=seqs[:3])] == seqs[3:]
    assert uplink.acknowledged(store, [*seqs[:3], 999]) == 3
    assert uplink.depth(store)["queued"] == 2


def test_a_version_4_database_gains_the_queue(tmp_path):
    path = tmp_path / "old.db"
    with Store.open(path):
        pass
    raw = sqlite3.connect(path)
    raw.executescript("DROP TRIGGER uplink_case_opened; DROP TRIGGER uplink_case_changed;"
                      " DROP TRIGGER uplink_message_in; DROP TRIGGER uplink_message_out;"
                      " DROP TABLE uplink; DROP TABLE uplink_enabled;"
                      " PRAGMA user_version=4;")
    raw.close()
    with Store.open(path) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        uplink.set_enabled(store, True)
        with store.transaction() as db:
            case_store.open_case(db, "+254700000001", 10.0)
        assert types(store) == ["case.opened"]
