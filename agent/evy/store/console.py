"""What the operator console reads and writes: the board, a case's notes and history, status changes, merges
and the audit log of every operator action.

The console is its own process on the agent's database (WAL). It changes a case only through these narrow
statements (status, merge, notes), never by saving a whole case row, so an agent answering the same case at
the same moment keeps its own columns and the operator's status stands. Writes take the caller's
transaction, so an action, its audit row and the SMS it queues commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from evy.cases.state import Case, Status
from evy.store import cases as case_store
from evy.store.db import GuardedConnection, Store


@dataclass(frozen=True)
class BoardRow:
    case: Case
    messages_in: int
    last_text: str | None


def board(store: Store, *, statuses: Iterable[Status] | None = None, category: str | None = None,
          since: float | None = None, limit: int = 500) -> list[BoardRow]:
    """The board: cases most urgent first, then oldest, with how many messages each had and the last one."""
    found = case_store.board(store, statuses=statuses, category=category, since=since, limit=limit)
    activity = case_store.activity(store, [case.id for case in found])
    rows = []
    for case in found:
        seen = activity.get(case.id)
        rows.append(BoardRow(case, seen.messages_in if seen else 0, seen.last_text if seen else None))
    return rows


def categories(store: Store) -> list[str]:
    """Every category a case has had, for the board's filter."""
    rows = store.db.execute("SELECT DISTINCT category FROM cases WHERE category IS NOT NULL ORDER BY category")
    return [row[0] for row in rows.fetchall()]


def counts_by_status(store: Store) -> dict[str, int]:
    rows = store.db.execute("SELECT status, COUNT(*) FROM cases GROUP BY status").fetchall()
    return {row[0]: row[1] for row in rows}


def case_in(db: GuardedConnection, case_id: int) -> Case | None:
    """The case as it is inside the caller's transaction (read after BEGIN IMMEDIATE: nobody changes it)."""
    row = db.execute(f"{case_store._SELECT} WHERE id = ?", (case_id,)).fetchone()
    return None if row is None else case_store._case(row)


def set_status(db: GuardedConnection, case_id: int, status: Status, now: float) -> None:
    db.execute("UPDATE cases SET status = ?, updated_at = ? WHERE id = ?", (str(status), now, case_id))


def note_sent(db: GuardedConnection, case_id: int, now: float) -> None:
    """An operator's SMS left for the case's sender: the time since the last reply starts again."""
    db.execute("UPDATE cases SET last_out_at = ? WHERE id = ?", (now, case_id))


def latest_message_id(db: GuardedConnection | Store, case_id: int) -> int | None:
    """The case's latest inbound message: an operator's SMS is queued as one more answer to it."""
    connection = db.db if isinstance(db, Store) else db
    row = connection.execute("SELECT id FROM messages WHERE case_id = ? ORDER BY received_at DESC, id DESC LIMIT 1",
                             (case_id,)).fetchone()
    return None if row is None else row[0]


# -- audit log -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditEntry:
    at: float
    actor: str
    address: str
    action: str
    case_id: int | None
    detail: str


def claim_action(db: GuardedConnection, *, key: str | None, at: float, actor: str, address: str, action: str,
                 case_id: int | None = None, detail: str = "") -> bool:
    """Record an operator action in the caller's transaction. False when its one-time key was used before
    (the same form sent twice): the caller then does nothing more, so the action happens exactly once."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO audit_log(at, actor, address, action, case_id, detail, action_key)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)", (at, actor, address, action, case_id, detail, key))
    return cursor.rowcount == 1


def audit(store: Store, *, at: float, actor: str, address: str, action: str, case_id: int | None = None,
          detail: str = "") -> None:
    """An action with nothing else to commit (a login, an export), in its own transaction."""
    with store.transaction() as db:
        claim_action(db, key=None, at=at, actor=actor, address=address, action=action, case_id=case_id,
                     detail=detail)


def audit_entries(store: Store, *, case_id: int | None = None, limit: int = 200) -> list[AuditEntry]:
    """The newest operator actions first (one case's, or all)."""
    where, params = ("WHERE case_id = ?", (case_id,)) if case_id is not None else ("", ())
    rows = store.db.execute(f"SELECT at, actor, address, action, case_id, detail FROM audit_log {where}"
                            " ORDER BY at DESC, id DESC LIMIT ?", (*params, limit)).fetchall()
    return [AuditEntry(*row) for row in rows]


# -- notes ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Note:
    at: float
    author: str
    text: str


def add_note(db: GuardedConnection, case_id: int, at: float, author: str, text: str) -> None:
    db.execute("INSERT INTO case_notes(case_id, at, author, text) VALUES (?, ?, ?, ?)", (case_id, at, author, text))


def notes(store: Store, case_id: int) -> list[Note]:
    rows = store.db.execute("SELECT at, author, text FROM case_notes WHERE case_id = ? ORDER BY at, id",
                            (case_id,)).fetchall()
    return [Note(*row) for row in rows]


# -- merging -------------------------------------------------------------------------------------------------

def merge(db: GuardedConnection, source: Case, target: Case, now: float) -> int:
    """Move ``source``'s thread and notes into ``target`` (the same incident) and close ``source`` as merged.
    The target keeps its own reading and gains what it lacked: a location, a people count, the higher
    urgency. Returns how many messages moved."""
    moved = db.execute("UPDATE messages SET case_id = ? WHERE case_id = ?", (target.id, source.id)).rowcount
    db.execute("UPDATE case_notes SET case_id = ? WHERE case_id = ?", (target.id, source.id))
    db.execute(
        "UPDATE cases SET updated_at = ?, priority = MIN(priority, ?), emergency = MAX(emergency, ?),"
        " location_text = COALESCE(location_text, ?), latitude = COALESCE(latitude, ?),"
        " longitude = COALESCE(longitude, ?), people = COALESCE(people, ?),"
        " opened_at = MIN(opened_at, ?), last_in_at = MAX(COALESCE(last_in_at, 0), COALESCE(?, 0)) WHERE id = ?",
        (now, source.priority, int(source.emergency), source.location_text,
         source.latitude if target.latitude is None else None, source.longitude if target.latitude is None else None,
         source.people, source.opened_at, source.last_in_at, target.id))
    db.execute("UPDATE cases SET status = 'closed', merged_into = ?, updated_at = ? WHERE id = ?",
               (target.id, now, source.id))
    return moved


def merged_into(store: Store, case_id: int) -> int | None:
    row = store.db.execute("SELECT merged_into FROM cases WHERE id = ?", (case_id,)).fetchone()
    return None if row is None else row[0]


def merged_from(store: Store, case_id: int) -> list[int]:
    rows = store.db.execute("SELECT id FROM cases WHERE merged_into = ? ORDER BY id", (case_id,)).fetchall()
    return [row[0] for row in rows]
