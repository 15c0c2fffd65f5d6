"""Broadcasts in the store: subscribers (JOIN/LEAVE), audiences, a broadcast's recipients and their fate.

Subscription changes take the caller's transaction, so the confirmation SMS and the change commit together.
A STOP (:func:`forget_on_stop`) ends the subscription and cancels every broadcast SMS to that number that
has not begun to leave, in the transaction that records the opt-out.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from evy.store.db import GuardedConnection, Store

KIND = "broadcast"  # the outbox kind of a broadcast SMS
OPEN_STATUSES = ("new", "acknowledged", "dispatched")
DELIVERED_BELOW = 32  # TP-ST 0x00-0x1F: short message transaction completed (delivered)


@dataclass(frozen=True)
class Broadcast:
    id: int
    text: str
    audience: str
    hours: float | None
    encoding: str
    segments: int
    created_at: float
    created_by: str | None
    state: str
    recipients: int


@dataclass(frozen=True)
class Delivery:
    """Where a broadcast's SMS are: per recipient, the furthest state reached."""

    recipients: int
    queued: int  # waiting for their turn (or for the modem)
    sent: int  # every part left; no delivery report yet (or none asked for)
    delivered: int  # every part reported delivered
    failed: int
    cancelled: int  # the recipient texted STOP before it left


# -- subscribers --------------------------------------------------------------------------------------------

def subscribe(db: GuardedConnection | sqlite3.Connection, sender: str, language: str, now: float | None = None) -> None:
    db.execute("INSERT INTO subscribers(sender, language, joined_at) VALUES (?, ?, ?)"
               " ON CONFLICT(sender) DO UPDATE SET language = excluded.language",
               (sender, language, time.time() if now is None else now))


def unsubscribe(db: GuardedConnection | sqlite3.Connection, sender: str) -> None:
    db.execute("DELETE FROM subscribers WHERE sender = ?", (sender,))


def is_subscribed(store: Store, sender: str) -> bool:
    return store.db.execute("SELECT 1 FROM subscribers WHERE sender = ?", (sender,)).fetchone() is not None


def subscriber_count(store: Store) -> int:
    return store.db.execute("SELECT COUNT(*) FROM subscribers s WHERE NOT EXISTS"
                            " (SELECT 1 FROM optouts o WHERE o.sender = s.sender)").fetchone()[0]


def forget_on_stop(db: GuardedConnection | sqlite3.Connection, sender: str, now: float | None = None) -> int:
    """STOP wins: end the subscription and cancel queued broadcast SMS to ``sender`` of which no part has
    begun to leave; how many were cancelled."""
    unsubscribe(db, sender)
    return db.execute(
        "UPDATE outbox SET state = 'cancelled', finished_at = ?, last_error = 'recipient texted STOP'"
        " WHERE recipient = ? AND kind = ? AND state = 'queued' AND NOT EXISTS"
        " (SELECT 1 FROM outbox_parts p WHERE p.outbox_id = outbox.id AND p.state != 'pending')",
        (time.time() if now is None else now, sender, KIND)).rowcount


# -- audiences ----------------------------------------------------------------------------------------------

def subscribers(store: Store) -> list[str]:
    return _senders(store, "SELECT sender FROM subscribers s WHERE NOT EXISTS"
                           " (SELECT 1 FROM optouts o WHERE o.sender = s.sender) ORDER BY joined_at, sender")


def recent_senders(store: Store, since: float) -> list[str]:
    return _senders(store, "SELECT sender FROM messages m WHERE received_at >= ? AND NOT EXISTS"
                           " (SELECT 1 FROM optouts o WHERE o.sender = m.sender)"
                           " GROUP BY sender ORDER BY MIN(received_at), sender", (since,))


def open_case_senders(store: Store) -> list[str]:
    marks = ", ".join("?" * len(OPEN_STATUSES))
    return _senders(store, f"SELECT sender FROM cases c WHERE status IN ({marks}) AND NOT EXISTS"
                           " (SELECT 1 FROM optouts o WHERE o.sender = c.sender)"
                           " GROUP BY sender ORDER BY MIN(opened_at), sender", OPEN_STATUSES)


def _senders(store: Store, sql: str, params: tuple = ()) -> list[str]:
    return [row[0] for row in store.db.execute(sql, params)]


# -- broadcasts ---------------------------------------------------------------------------------------------

def create(db: GuardedConnection | sqlite3.Connection, *, text: str, audience: str, hours: float | None,
           encoding: str, segments: int, created_by: str | None, now: float) -> int:
    return db.execute(
        "INSERT INTO broadcasts(text, audience, hours, encoding, segments, created_at, created_by)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (text, audience, hours, encoding, segments, now, created_by)).lastrowid


def add_recipient(db: GuardedConnection | sqlite3.Connection, broadcast_id: int, recipient: str,
                  outbox_id: int, not_before: float) -> None:
    """Link a queued outbox entry to its broadcast and hold it until ``not_before`` (the modem's pace)."""
    db.execute("INSERT INTO broadcast_recipients(broadcast_id, recipient, outbox_id) VALUES (?, ?, ?)",
               (broadcast_id, recipient, outbox_id))
    db.execute("UPDATE outbox SET next_attempt = MAX(next_attempt, ?) WHERE id = ?", (not_before, outbox_id))
    db.execute("UPDATE broadcasts SET recipients = recipients + 1 WHERE id = ?", (broadcast_id,))


def hold_queued(store: Store, until: float) -> None:
    """After a broadcast SMS has left, the next ones wait until ``until`` (the modem's pace)."""
    with store.transaction(durable=False) as db:
        db.execute("UPDATE outbox SET next_attempt = MAX(next_attempt, ?) WHERE kind = ? AND state = 'queued'",
                   (until, KIND))


def last_queued_at(db: GuardedConnection | sqlite3.Connection) -> float | None:
    """When the last broadcast SMS still queued is due: a new broadcast queues after it."""
    return db.execute("SELECT MAX(next_attempt) FROM outbox WHERE kind = ? AND state = 'queued'",
                      (KIND,)).fetchone()[0]


def get(store: Store, broadcast_id: int) -> Broadcast | None:
    row = store.db.execute(f"SELECT {_COLUMNS} FROM broadcasts WHERE id = ?", (broadcast_id,)).fetchone()
    return None if row is None else Broadcast(**dict(row))


def recent(store: Store, limit: int = 20) -> list[Broadcast]:
    rows = store.db.execute(f"SELECT {_COLUMNS} FROM broadcasts ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [Broadcast(**dict(row)) for row in rows]


def cancel(store: Store, broadcast_id: int, now: float | None = None) -> int:
    """Stop a broadcast: its SMS of which no part has begun to leave are cancelled; how many."""
    now = time.time() if now is None else now
    with store.transaction() as db:
        db.execute("UPDATE broadcasts SET state = 'cancelled' WHERE id = ?", (broadcast_id,))
        return db.execute(
            "UPDATE outbox SET state = 'cancelled', finished_at = ?, last_error = 'broadcast cancelled'"
            " WHERE state = 'queued' AND id IN (SELECT outbox_id FROM broadcast_recipients WHERE broadcast_id = ?)"
            " AND NOT EXISTS (SELECT 1 FROM outbox_parts p WHERE p.outbox_id = outbox.id AND p.state != 'pending')",
            (now, broadcast_id)).rowcount


def purge(store: Store, before: float) -> int:
    """Forget broadcasts created before ``before`` whose SMS have all finished (sent, failed, cancelled):
    their recipients, outbox entries and parts. How many broadcasts."""
    with store.transaction(durable=False) as db:
        old = [row[0] for row in db.execute(
            "SELECT id FROM broadcasts b WHERE created_at < ? AND NOT EXISTS (SELECT 1 FROM broadcast_recipients r"
            " JOIN outbox o ON o.id = r.outbox_id WHERE r.broadcast_id = b.id AND o.state IN ('queued', 'relaying'))",
            (before,))]
        for broadcast_id in old:
            entries = "SELECT outbox_id FROM broadcast_recipients WHERE broadcast_id = ?"
            db.execute(f"DELETE FROM outbox_parts WHERE outbox_id IN ({entries})", (broadcast_id,))
            db.execute(f"DELETE FROM outbox WHERE id IN ({entries})", (broadcast_id,))
            db.execute("DELETE FROM broadcast_recipients WHERE broadcast_id = ?", (broadcast_id,))
            db.execute("DELETE FROM broadcasts WHERE id = ?", (broadcast_id,))
    return len(old)


def delivery(store: Store, broadcast_id: int) -> Delivery:
    rows = store.db.execute(
        "SELECT o.state, (SELECT COUNT(*) FROM outbox_parts p WHERE p.outbox_id = o.id) AS parts,"
        " (SELECT COUNT(*) FROM outbox_parts p WHERE p.outbox_id = o.id AND p.report_status < ?) AS delivered"
        " FROM broadcast_recipients r JOIN outbox o ON o.id = r.outbox_id WHERE r.broadcast_id = ?",
        (DELIVERED_BELOW, broadcast_id)).fetchall()
    counts = {"queued": 0, "sent": 0, "delivered": 0, "failed": 0, "cancelled": 0}
    for row in rows:
        state = row["state"]
        if state == "sent" and row["parts"] and row["delivered"] == row["parts"]:
            state = "delivered"
        elif state in ("relaying", "relayed"):  # handed to another kit: as good as sent from here
            state = "sent" if state == "relayed" else "queued"
        counts[state if state in counts else "failed"] += 1
    return Delivery(recipients=len(rows), **counts)


_COLUMNS = ", ".join(Broadcast.__dataclass_fields__)
