"""Outbound side of the store: replies queued by priority, their SMS parts, retries and delivery reports."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from evy.sms.message import StatusReport
from evy.store.db import Store


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    message_id: int | None
    kind: str
    recipient: str
    text: str
    priority: int
    attempts: int


@dataclass(frozen=True)
class OutboxPart:
    outbox_id: int
    seq: int
    pdu: str
    tpdu_length: int
    state: str
    location: int | None


def enqueue(db: sqlite3.Connection, *, message_id: int | None, kind: str, recipient: str, text: str,
            encoding: str, priority: int, parts: list[tuple[str, int]], now: float | None = None) -> int | None:
    """Queue a reply inside the caller's transaction; None when this message already has one of ``kind``."""
    now = time.time() if now is None else now
    cursor = db.execute(
        "INSERT OR IGNORE INTO outbox(message_id, kind, recipient, text, encoding, priority, next_attempt,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (message_id, kind, recipient, text, encoding, priority, now, now),
    )
    if cursor.rowcount == 0:
        return None
    outbox_id = cursor.lastrowid
    db.executemany(
        "INSERT INTO outbox_parts(outbox_id, seq, pdu, tpdu_length) VALUES (?, ?, ?, ?)",
        [(outbox_id, seq, pdu, length) for seq, (pdu, length) in enumerate(parts, 1)],
    )
    return outbox_id


def due(store: Store, now: float | None = None, limit: int = 20) -> list[OutboxEntry]:
    """Queued SMS entries whose retry time has come, most urgent first (replies to Meshtastic nodes, whose
    recipients start with '!', are sent by the gateway: store/meshtastic.py)."""
    rows = store.db.execute(
        "SELECT id, message_id, kind, recipient, text, priority, attempts FROM outbox"
        " WHERE state = 'queued' AND recipient NOT LIKE '!%' AND next_attempt <= ?"
        " ORDER BY priority, next_attempt, id LIMIT ?",
        (time.time() if now is None else now, limit),
    ).fetchall()
    return [OutboxEntry(**dict(row)) for row in rows]


def next_due_time(store: Store) -> float | None:
    row = store.db.execute("SELECT MIN(next_attempt) FROM outbox WHERE state = 'queued'").fetchone()
    return row[0]


def parts(store: Store, outbox_id: int) -> list[OutboxPart]:
    rows = store.db.execute(
        "SELECT outbox_id, seq, pdu, tpdu_length, state, location FROM outbox_parts WHERE outbox_id = ?"
        " ORDER BY seq", (outbox_id,),
    ).fetchall()
    return [OutboxPart(**dict(row)) for row in rows]


def parts_in_state(store: Store, state: str) -> list[OutboxPart]:
    rows = store.db.execute(
        "SELECT outbox_id, seq, pdu, tpdu_length, state, location FROM outbox_parts WHERE state = ?", (state,)
    ).fetchall()
    return [OutboxPart(**dict(row)) for row in rows]


def set_part(store: Store, part: OutboxPart, state: str, *, location: int | None = None,
             reference: int | None = None) -> None:
    with store.transaction() as db:
        db.execute(
            "UPDATE outbox_parts SET state = ?, location = ?, reference = COALESCE(?, reference),"
            " sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE outbox_id = ? AND seq = ?",
            (state, location, reference, state, time.time(), part.outbox_id, part.seq),
        )
        if state == "sent":
            db.execute(
                "UPDATE outbox SET state = 'sent', finished_at = ? WHERE id = ? AND NOT EXISTS"
                " (SELECT 1 FROM outbox_parts WHERE outbox_id = ? AND state != 'sent')",
                (time.time(), part.outbox_id, part.outbox_id),
            )


def retry_later(store: Store, entry: OutboxEntry, error: str, *, backoff: float, max_backoff: float,
                max_attempts: int, permanent: bool = False) -> bool:
    """Record a failed attempt; the entry waits (exponential backoff) or fails for good. True if failed."""
    attempts = entry.attempts + 1
    failed = permanent or attempts >= max_attempts
    delay = min(max_backoff, backoff * 2 ** (attempts - 1))
    with store.transaction() as db:
        db.execute(
            "UPDATE outbox SET attempts = ?, last_error = ?, next_attempt = ?, state = ?,"
            " finished_at = CASE WHEN ? THEN ? END WHERE id = ?",
            (attempts, error, time.time() + delay, "failed" if failed else "queued", failed, time.time(),
             entry.id),
        )
    return failed


def hold_all(store: Store, until: float, reason: str) -> None:
    """Postpone every queued SMS entry without counting an attempt (modem not registered, SIM busy)."""
    with store.transaction() as db:
        db.execute("UPDATE outbox SET next_attempt = MAX(next_attempt, ?), last_error = ? WHERE state = 'queued'"
                   " AND recipient NOT LIKE '!%'",
                   (until, reason))


def record_report(store: Store, report: StatusReport) -> bool:
    """Attach a delivery report to the most recent sent part with that reference; False if none matches."""
    with store.transaction() as db:
        row = db.execute(
            "SELECT p.outbox_id, p.seq FROM outbox_parts p JOIN outbox o ON o.id = p.outbox_id"
            " WHERE p.reference = ? AND p.state = 'sent' AND (o.recipient = ? OR ? = '')"
            " ORDER BY p.sent_at DESC LIMIT 1",
            (report.reference, report.recipient, report.recipient),
        ).fetchone()
        if row is None:
            return False
        db.execute("UPDATE outbox_parts SET report_status = ?, report_at = ? WHERE outbox_id = ? AND seq = ?",
                   (report.status, time.time(), row[0], row[1]))
        return True


def mark_relaying(store: Store, entry: OutboxEntry, mesh_id: int) -> None:
    """The whole reply was handed to a kit with coverage; it waits for that kit's acknowledgement."""
    with store.transaction() as db:
        db.execute("UPDATE outbox SET state = 'relaying', mesh_id = ? WHERE id = ? AND state = 'queued'",
                   (mesh_id, entry.id))


def relay_outcome(store: Store, mesh_id: int, delivered: bool, retry_after: float) -> bool:
    """Close a relayed reply on acknowledgement, or queue it again (modem or another kit) without one."""
    with store.transaction() as db:
        if delivered:
            cursor = db.execute("UPDATE outbox SET state = 'relayed', finished_at = ? WHERE mesh_id = ?"
                                " AND state = 'relaying'", (time.time(), mesh_id))
        else:
            cursor = db.execute("UPDATE outbox SET state = 'queued', mesh_id = NULL, next_attempt = ?,"
                                " last_error = 'no acknowledgement from the relaying kit'"
                                " WHERE mesh_id = ? AND state = 'relaying'", (time.time() + retry_after, mesh_id))
        return cursor.rowcount == 1


def requeue_relaying(store: Store) -> int:
    """After a restart the outcome of a hand-over is unknown: queue those replies again."""
    with store.transaction() as db:
        return db.execute("UPDATE outbox SET state = 'queued', mesh_id = NULL WHERE state = 'relaying'").rowcount


def nothing_left(store: Store, entry_id: int) -> bool:
    """True when no part of the entry has left or may have left (so the whole text may go another way)."""
    row = store.db.execute("SELECT COUNT(*) FROM outbox_parts WHERE outbox_id = ? AND state IN ('sent', 'sending')",
                           (entry_id,)).fetchone()
    return row[0] == 0
