"""Cases in the store: find or open the sender's case, save what a message changed, read threads and boards.

Writes take the caller's transaction, so a case update commits together with the reply it led to: a crash
either keeps both or neither, and the message is then answered again from the same case state.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from evy.cases.state import Case, Status, joins
from evy.store.db import Store

# The cases table's columns, in Case's field order (a test holds the two together).
COLUMNS = ("id", "sender", "opened_at", "updated_at", "status", "language", "category", "topic", "priority",
            "emergency", "step", "asked", "location_text", "latitude", "longitude", "people", "last_in_at",
            "last_out_at")
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM cases"


def _case(row: sqlite3.Row) -> Case:
    values = dict(zip(COLUMNS, row, strict=True))
    values["status"] = Status(values["status"])
    values["emergency"] = bool(values["emergency"])
    values["asked"] = tuple(filter(None, values["asked"].split(",")))
    return Case(**values)


def _row(case: Case) -> tuple:
    values = {name: getattr(case, name) for name in COLUMNS}
    values["status"] = str(case.status)
    values["emergency"] = int(case.emergency)
    values["asked"] = ",".join(case.asked)
    return tuple(values[name] for name in COLUMNS)


def latest_for(store: Store, sender: str) -> Case | None:
    """The sender's most recently updated case, open or not."""
    row = store.db.execute(f"{_SELECT} WHERE sender = ? ORDER BY updated_at DESC, id DESC LIMIT 1",
                       (sender,)).fetchone()
    return None if row is None else _case(row)


def current(store: Store, sender: str, now: float, quiet_close: float) -> Case | None:
    """The open case a message from ``sender`` at ``now`` joins, or None (it opens a new one)."""
    case = latest_for(store, sender)
    return case if joins(case, now, quiet_close) else None


def open_case(db: sqlite3.Connection, sender: str, now: float, language: str = "en") -> Case:
    cursor = db.execute("INSERT INTO cases(sender, opened_at, updated_at, language) VALUES (?, ?, ?, ?)",
                        (sender, now, now, language))
    return Case(id=cursor.lastrowid, sender=sender, opened_at=now, updated_at=now, language=language)


def save(db: sqlite3.Connection, case: Case) -> None:
    """Save what the agent made of a message. A status an operator set meanwhile (anything past new, from the
    console in another process) stands, unless the sender closed the case."""
    assignments = ", ".join("status = CASE WHEN ? = 'closed' OR status = 'new' THEN ? ELSE status END"
                            if name == "status" else f"{name} = ?" for name in COLUMNS[1:])
    values = [value for name, value in zip(COLUMNS[1:], _row(case)[1:], strict=True)
              for value in ((value, value) if name == "status" else (value,))]
    db.execute(f"UPDATE cases SET {assignments} WHERE id = ?", (*values, case.id))


def attach_message(db: sqlite3.Connection, message_id: int, case_id: int) -> None:
    db.execute("UPDATE messages SET case_id = ? WHERE id = ?", (case_id, message_id))


def get(store: Store, case_id: int) -> Case | None:
    row = store.db.execute(f"{_SELECT} WHERE id = ?", (case_id,)).fetchone()
    return None if row is None else _case(row)


def board(store: Store, *, statuses: Iterable[Status] | None = None, category: str | None = None,
          since: float | None = None, limit: int = 500) -> list[Case]:
    """Cases most urgent first, then oldest first; filtered by status, category and last update."""
    clauses, params = [], []
    if statuses is not None:
        wanted = [str(status) for status in statuses]
        clauses.append(f"status IN ({', '.join('?' * len(wanted))})")
        params += wanted
    if category is not None:
        clauses.append("category = ?")
        params.append(category)
    if since is not None:
        clauses.append("updated_at >= ?")
        params.append(since)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = store.db.execute(f"{_SELECT}{where} ORDER BY priority, opened_at, id LIMIT ?",
                            (*params, limit)).fetchall()
    return [_case(row) for row in rows]


@dataclass(frozen=True)
class ThreadEntry:
    at: float
    direction: str  # "in" or "out"
    text: str
    kind: str  # in: the guards' verdict; out: reply | followup | ...
    state: str  # in: new | handled; out: queued | sent | failed | ...


def thread(store: Store, case_id: int) -> list[ThreadEntry]:
    """Every message of the case in and out, in time order."""
    rows = store.db.execute(
        "SELECT received_at AS at, 'in' AS direction, text, COALESCE(verdict, '') AS kind, state, id AS n"
        " FROM messages WHERE case_id = ?"
        " UNION ALL"
        " SELECT COALESCE(finished_at, created_at), 'out', outbox.text, kind, outbox.state, outbox.id"
        " FROM outbox WHERE message_id IN (SELECT id FROM messages WHERE case_id = ?)"
        " ORDER BY at, direction, n", (case_id, case_id)).fetchall()
    return [ThreadEntry(row["at"], row["direction"], row["text"], row["kind"], row["state"]) for row in rows]


def close_quiet(store: Store, now: float, quiet_close: float) -> int:
    """Close open cases quiet for ``quiet_close`` seconds; returns how many."""
    open_statuses = [str(status) for status in (Status.NEW, Status.ACKNOWLEDGED, Status.DISPATCHED)]
    with store.transaction(durable=False) as db:
        cursor = db.execute(
            f"UPDATE cases SET status = 'closed', updated_at = ? WHERE status IN ({', '.join('?' * 3)})"
            " AND updated_at < ?", (now, *open_statuses, now - quiet_close))
        return cursor.rowcount


@dataclass(frozen=True)
class Activity:
    messages_in: int
    last_text: str | None  # the sender's latest message


def activity(store: Store, case_ids: Iterable[int]) -> dict[int, Activity]:
    """How many messages each case received and the latest one's text."""
    ids = list(case_ids)
    found: dict[int, Activity] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = store.db.execute(
            f"SELECT case_id, COUNT(*), (SELECT text FROM messages AS latest WHERE latest.case_id = m.case_id"
            f" ORDER BY received_at DESC, id DESC LIMIT 1) FROM messages AS m"
            f" WHERE case_id IN ({', '.join('?' * len(chunk))}) GROUP BY case_id", chunk).fetchall()
        found.update({row[0]: Activity(row[1], row[2]) for row in rows})
    return found
