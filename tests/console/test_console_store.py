"""The console's store functions on a real SQLite file: status changes that survive the agent answering at the
same moment, exactly-once actions, notes, merges, the audit log and the v2 → v4 upgrade."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pytest

from evy.cases.state import Status
from evy.store import Store
from evy.store import cases as case_store
from evy.store import console as console_store
from evy.store.db import SCHEMA_VERSION

SENDER = "+254700000001"


def add_message(store: Store, sender: str, text: str, at: float, case_id: int | None = None) -> int:
    with store.transaction() as db:
        return db.execute("INSERT INTO messages(sender, text, encoding, received_at, case_id) VALUES (?, ?, 'gsm7',"
                          " ?, ?)", (sender, text, at, case_id)).lastrowid


@pytest.fixture()
def store(tmp_path: Path):
    with Store.open(tmp_path / "evy.db") as opened:
        yield opened


@pytest.mark.parametrize("operator_status", [Status.ACKNOWLEDGED, Status.DISPATCHED, Status.CLOSED])
def test_an_operator_status_survives_the_agent_saving_the_case_it_read_before(store: Store,
                                                                              operator_status: Status) -> None:
    with store.transaction() as db:
        case = case_store.open_case(db, SENDER, 100.0)
    read_by_agent = case_store.get(store, case.id)  # the agent is answering a message of this case...
    with store.transaction() as db:  # ...when an operator acts on it
        console_store.set_status(db, case.id, operator_status, 101.0)
    with store.transaction() as db:
        case_store.save(db, replace(read_by_agent, category="medical", last_out_at=102.0, updated_at=102.0))
    saved = case_store.get(store, case.id)
    assert saved.status is operator_status and saved.category == "medical"


def test_the_sender_closing_the_case_wins_over_an_operator_status(store: Store) -> None:
    with store.transaction() as db:
        case = case_store.open_case(db, SENDER, 100.0)
        console_store.set_status(db, case.id, Status.DISPATCHED, 101.0)
    with store.transaction() as db:
        case_store.save(db, replace(case, status=Status.CLOSED, updated_at=102.0))
    assert case_store.get(store, case.id).status is Status.CLOSED


def test_an_action_key_is_claimed_once(store: Store) -> None:
    claims = []
    for _ in range(2):
        with store.transaction() as db:
            claims.append(console_store.claim_action(db, key="k1", at=1.0, actor="operator", address="127.0.0.1",
                                                     action="reply", detail="on my way"))
    assert claims == [True, False]
    assert [entry.action for entry in console_store.audit_entries(store)] == ["reply"]


def test_merging_moves_the_thread_and_notes_and_closes_the_source(store: Store) -> None:
    with store.transaction() as db:
        target = case_store.open_case(db, SENDER, 100.0)
        source = case_store.open_case(db, "+254700000002", 90.0)
        case_store.save(db, replace(source, priority=0, emergency=True, latitude=-1.3, longitude=36.8,
                                    location_text="-1.3, 36.8", people=4))
        console_store.add_note(db, source.id, 95.0, "operator", "same fire")
    add_message(store, SENDER, "fire at the market", 100.0, target.id)
    add_message(store, "+254700000002", "market burning", 90.0, source.id)
    source = case_store.get(store, source.id)
    with store.transaction() as db:
        assert console_store.merge(db, source, target, 200.0) == 1
    merged = case_store.get(store, target.id)
    assert (merged.priority, merged.emergency, merged.latitude, merged.people, merged.opened_at) == (0, True, -1.3,
                                                                                                     4, 90.0)
    assert [entry.text for entry in case_store.thread(store, target.id)] == ["market burning", "fire at the market"]
    assert [note.text for note in console_store.notes(store, target.id)] == ["same fire"]
    assert case_store.get(store, source.id).status is Status.CLOSED
    assert console_store.merged_into(store, source.id) == target.id
    assert console_store.merged_from(store, target.id) == [source.id]


def test_the_board_carries_message_counts_and_the_last_text(store: Store) -> None:
    with store.transaction() as db:
        case = case_store.open_case(db, SENDER, 100.0)
    add_message(store, SENDER, "help", 100.0, case.id)
    add_message(store, SENDER, "we are 3", 110.0, case.id)
    [row] = console_store.board(store, statuses=[Status.NEW])
    assert (row.case.id, row.messages_in, row.last_text) == (case.id, 2, "we are 3")
    assert console_store.counts_by_status(store) == {"new": 1}


def test_a_version_2_database_is_upgraded_with_its_cases_kept(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    files = resources.files("evy.store")
    old.executescript(files.joinpath("schema.sql").read_text("utf-8") + files.joinpath("migrations", "2.sql")
                      .read_text("utf-8"))
    old.execute("INSERT INTO cases(sender, opened_at, updated_at) VALUES (?, 1.0, 1.0)", (SENDER,))
    old.execute("PRAGMA user_version = 2")
    old.commit()
    old.close()
    with Store.open(path) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 4
        assert console_store.merged_into(store, 1) is None
        assert console_store.audit_entries(store) == []
