"""Cases in a real SQLite file: open, join, save, thread, board, quiet close, and the v1 → v2 upgrade."""

from __future__ import annotations

import sqlite3
from dataclasses import fields, replace
from importlib import resources
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from evy.cases.state import Case, Status
from evy.store import Store
from evy.store import cases as case_store
from evy.store.db import SCHEMA_VERSION

SENDER = "+254700000001"


def add_message(store: Store, sender: str, text: str, at: float) -> int:
    with store.transaction() as db:
        return db.execute("INSERT INTO messages(sender, text, encoding, received_at) VALUES (?, ?, 'gsm7', ?)",
                          (sender, text, at)).lastrowid


def test_the_table_and_the_dataclass_name_the_same_fields() -> None:
    assert tuple(field.name for field in fields(Case)) == case_store.COLUMNS


def test_a_case_round_trips_through_the_database(tmp_path: Path) -> None:
    with Store.open(tmp_path / "evy.db") as store:
        with store.transaction() as db:
            case = case_store.open_case(db, SENDER, 100.0, "sw")
            changed = replace(case, status=Status.ACKNOWLEDGED, category="medical", topic="cpr", priority=0,
                              emergency=True, step="breathing", asked=("breathing", "where"),
                              location_text="near the market", latitude=-1.29, longitude=36.82, people=2,
                              last_in_at=101.0, last_out_at=102.0, updated_at=102.0)
            case_store.save(db, changed)
        assert case_store.get(store, case.id) == changed
        assert case_store.latest_for(store, SENDER) == changed


def test_messages_join_the_open_case_until_it_is_quiet_or_closed(tmp_path: Path) -> None:
    with Store.open(tmp_path / "evy.db") as store:
        assert case_store.current(store, SENDER, 0.0, quiet_close=3600) is None
        with store.transaction() as db:
            case = case_store.open_case(db, SENDER, 0.0)
        assert case_store.current(store, SENDER, 10.0, quiet_close=3600) == case
        assert case_store.current(store, SENDER, 4000.0, quiet_close=3600) is None
        assert case_store.current(store, "+254700000002", 10.0, quiet_close=3600) is None
        assert case_store.close_quiet(store, 4000.0, quiet_close=3600) == 1
        assert case_store.get(store, case.id).status is Status.CLOSED
        assert case_store.current(store, SENDER, 4001.0, quiet_close=10**9) is None


def test_the_thread_holds_messages_in_and_replies_out_in_order(tmp_path: Path) -> None:
    with Store.open(tmp_path / "evy.db") as store:
        first = add_message(store, SENDER, "he is not breathing", 10.0)
        second = add_message(store, SENDER, "breathing now", 50.0)
        other = add_message(store, "+254700000002", "unrelated", 20.0)
        with store.transaction() as db:
            case = case_store.open_case(db, SENDER, 10.0)
            for message_id in (first, second):
                case_store.attach_message(db, message_id, case.id)
            for message_id, at, text in ((first, 11.0, "Call 999. Push hard"), (second, 51.0, "Recovery position")):
                db.execute("INSERT INTO outbox(message_id, kind, recipient, text, encoding, priority,"
                           " next_attempt, created_at) VALUES (?, 'reply', ?, ?, 'gsm7', 0, ?, ?)",
                           (message_id, SENDER, text, at, at))
            db.execute("INSERT INTO outbox(message_id, kind, recipient, text, encoding, priority, next_attempt,"
                       " created_at) VALUES (?, 'reply', '+254700000002', 'x', 'gsm7', 3, 21, 21)", (other,))
        entries = case_store.thread(store, case.id)
    assert [(entry.direction, entry.text) for entry in entries] == [
        ("in", "he is not breathing"), ("out", "Call 999. Push hard"),
        ("in", "breathing now"), ("out", "Recovery position")]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(list(Status)), st.integers(0, 1000)),
                min_size=1, max_size=12))
def test_the_board_is_sorted_by_priority_then_age_and_filters(tmp_path_factory, rows) -> None:
    path = tmp_path_factory.mktemp("board") / "evy.db"
    with Store.open(path) as store:
        with store.transaction() as db:
            for number, (priority, status, opened) in enumerate(rows):
                case = case_store.open_case(db, f"+2547000{number:05d}", float(opened))
                case_store.save(db, replace(case, priority=priority, status=status))
        every = case_store.board(store)
        assert [(c.priority, c.opened_at) for c in every] == sorted((c.priority, c.opened_at) for c in every)
        open_only = case_store.board(store, statuses=[Status.NEW, Status.ACKNOWLEDGED, Status.DISPATCHED])
        assert all(case.is_open for case in open_only)
        assert len(open_only) == sum(status in (Status.NEW, Status.ACKNOWLEDGED, Status.DISPATCHED)
                                     for _, status, _ in rows)


def test_a_version_1_database_is_upgraded_in_place_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "evy.db"
    old = sqlite3.connect(path)
    old.executescript(resources.files("evy.store").joinpath("schema.sql").read_text("utf-8"))
    old.execute("INSERT INTO messages(sender, text, encoding, received_at) VALUES ('+1', 'kept', 'gsm7', 1)")
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()
    with Store.open(path) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert [tuple(row) for row in store.db.execute("SELECT text, case_id FROM messages")] == [("kept", None)]
        with store.transaction() as db:
            case_store.attach_message(db, 1, case_store.open_case(db, "+1", 2.0).id)
        assert store.integrity_check() == "ok"
