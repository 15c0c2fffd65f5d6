"""The Meshtastic gateway's side of the store: received texts in, direct-message parts out.

A received text is a one-part message in ``parts`` (sender = node id; ``scts`` = ``meshtastic:<packet id>``,
so the same packet handed over twice is stored once; ``encoding`` = how far it is trusted, see
``evy/meshtastic/trust.py``). A reply to a node is an ``outbox`` entry whose parts hold the text of each
direct message and, in ``reference``, its packet id, fixed when queued so a resend carries the same id and a
receiver that already has it shows it once. A part is ``pending``, ``sending`` once handed to the node (the
entry then waits ``ack_timeout`` for the recipient's ACK) and ``sent`` on that ACK.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from dataclasses import dataclass

from evy.store.db import Store
from evy.store.inbox import SINGLE
from evy.store.outbox import OutboxEntry

NODE_RECIPIENT = "recipient LIKE '!%'"  # Meshtastic node ids start with '!', phone numbers never do
CHANNEL_BROADCAST = "meshtastic-broadcast"  # outbox kinds of a broadcast to the kit's channel (recipient !ffffffff)
ALERT = "meshtastic-alert"  # the same, a warning sent with alert priority
SMS_RELAY = "meshtastic-sms"  # outbox kind of an SMS a node had the kit send (message_id: the node's order)


def add_text(store: Store, *, sender: str, packet_id: int, text: str, trust_encoding: str,
             now: float | None = None) -> bool:
    """Commit one received text; False when this packet was already stored."""
    with store.transaction() as db:
        cursor = db.execute(
            "INSERT OR IGNORE INTO parts(sender, scts, concat_ref, concat_total, seq, text, encoding, pdu,"
            " received_at) VALUES (?, ?, ?, 1, 1, ?, ?, '', ?)",
            (sender, f"meshtastic:{packet_id:08x}", SINGLE, text, trust_encoding,
             time.time() if now is None else now),
        )
        return cursor.rowcount == 1


def enqueue(db: sqlite3.Connection, *, message_id: int | None, kind: str, recipient: str, text: str,
            priority: int, parts: list[str], now: float | None = None) -> int | None:
    """Queue a reply to a node inside the caller's transaction; None when the message already has one."""
    now = time.time() if now is None else now
    cursor = db.execute(
        "INSERT OR IGNORE INTO outbox(message_id, kind, recipient, text, encoding, priority, next_attempt,"
        " created_at) VALUES (?, ?, ?, ?, 'utf-8', ?, ?, ?)",
        (message_id, kind, recipient, text, priority, now, now),
    )
    if cursor.rowcount == 0:
        return None
    outbox_id = cursor.lastrowid
    db.executemany(
        "INSERT INTO outbox_parts(outbox_id, seq, pdu, tpdu_length, reference) VALUES (?, ?, ?, ?, ?)",
        [(outbox_id, seq, part, len(part.encode("utf-8")), _packet_id()) for seq, part in enumerate(parts, 1)],
    )
    return outbox_id


@dataclass(frozen=True)
class NodePart:
    """One direct message of a reply to a node."""

    outbox_id: int
    seq: int
    text: str
    state: str
    packet_id: int


def parts(store: Store, outbox_id: int) -> list[NodePart]:
    rows = store.db.execute("SELECT outbox_id, seq, pdu, state, reference FROM outbox_parts WHERE outbox_id = ?"
                            " ORDER BY seq", (outbox_id,)).fetchall()
    return [NodePart(row[0], row[1], row[2], row[3], row[4]) for row in rows]


def _packet_id() -> int:
    return secrets.randbelow(0xFFFFFFFE) + 1  # 0 would make the library pick its own


def due(store: Store, now: float | None = None, limit: int = 20) -> list[OutboxEntry]:
    """Queued replies to nodes whose time has come (a part to send, or an ACK overdue), most urgent first."""
    rows = store.db.execute(
        "SELECT id, message_id, kind, recipient, text, priority, attempts FROM outbox"
        f" WHERE state = 'queued' AND {NODE_RECIPIENT} AND next_attempt <= ?"
        " ORDER BY priority, next_attempt, id LIMIT ?",
        (time.time() if now is None else now, limit),
    ).fetchall()
    return [OutboxEntry(**dict(row)) for row in rows]


def handed_over(store: Store, outbox_id: int, seq: int, ack_timeout: float) -> None:
    """A part is with the node: it waits for the recipient's ACK (durably marked before the hand-over)."""
    with store.transaction() as db:
        db.execute("UPDATE outbox_parts SET state = 'sending' WHERE outbox_id = ? AND seq = ?", (outbox_id, seq))
        db.execute("UPDATE outbox SET next_attempt = ? WHERE id = ?", (time.time() + ack_timeout, outbox_id))


def acknowledged(store: Store, packet_id: int, sender: str) -> bool:
    """The recipient (``sender`` of the ACK) acknowledged the part with this packet id: it is sent, and the
    next part is due now. An ACK from anyone else (the kit's own node hearing a rebroadcast) is no proof."""
    with store.transaction() as db:
        row = db.execute(
            "SELECT p.outbox_id, p.seq FROM outbox_parts p JOIN outbox o ON o.id = p.outbox_id"
            " WHERE p.reference = ? AND p.state = 'sending' AND o.recipient = ?", (packet_id, sender),
        ).fetchone()
        if row is None:
            return False
        now = time.time()
        db.execute("UPDATE outbox_parts SET state = 'sent', sent_at = ?, report_status = 0"
                   " WHERE outbox_id = ? AND seq = ?", (now, row[0], row[1]))
        db.execute("UPDATE outbox SET state = CASE WHEN NOT EXISTS (SELECT 1 FROM outbox_parts WHERE"
                   " outbox_id = ? AND state != 'sent') THEN 'sent' ELSE state END,"
                   " finished_at = ?, next_attempt = ? WHERE id = ?", (row[0], now, now, row[0]))
        return True


def refused(store: Store, packet_id: int, reason: str) -> OutboxEntry | None:
    """A NAK for the part with this packet id: the part waits to be sent again; returns its entry."""
    with store.transaction() as db:
        row = db.execute(
            "SELECT o.id, o.message_id, o.kind, o.recipient, o.text, o.priority, o.attempts, p.seq"
            " FROM outbox_parts p JOIN outbox o ON o.id = p.outbox_id"
            f" WHERE p.reference = ? AND p.state = 'sending' AND o.{NODE_RECIPIENT}", (packet_id,),
        ).fetchone()
        if row is None:
            return None
        db.execute("UPDATE outbox_parts SET state = 'pending', report_status = NULL WHERE outbox_id = ?"
                   " AND seq = ?", (row["id"], row["seq"]))
        db.execute("UPDATE outbox SET last_error = ? WHERE id = ?", (reason, row["id"]))
        return OutboxEntry(**{key: row[key] for key in OutboxEntry.__dataclass_fields__})


def unacknowledged_to_pending(store: Store, outbox_id: int | None = None) -> int:
    """Parts handed over without an ACK go back to pending (the node was reset, unplugged, or the ACK is
    overdue); the same packet id is used again."""
    only = "" if outbox_id is None else " AND outbox_id = ?"
    with store.transaction() as db:
        return db.execute(
            "UPDATE outbox_parts SET state = 'pending' WHERE state = 'sending' AND outbox_id IN"
            f" (SELECT id FROM outbox WHERE {NODE_RECIPIENT}){only}", () if outbox_id is None else (outbox_id,),
        ).rowcount


def hold(store: Store, until: float, reason: str) -> None:
    """The node is away: replies to nodes wait without spending attempts (SMS replies are not touched)."""
    with store.transaction() as db:
        db.execute("UPDATE outbox SET next_attempt = MAX(next_attempt, ?), last_error = ?"
                   f" WHERE state = 'queued' AND {NODE_RECIPIENT}", (until, reason))


def release(store: Store) -> None:
    """The node is back: every queued reply to a node is due now."""
    with store.transaction() as db:
        db.execute(f"UPDATE outbox SET next_attempt = ? WHERE state = 'queued' AND {NODE_RECIPIENT}",
                   (time.time(),))


def channel_part_sent(store: Store, outbox_id: int, seq: int) -> None:
    """A part of a channel broadcast is with the node (no one acknowledges a broadcast): sent."""
    with store.transaction() as db:
        now = time.time()
        db.execute("UPDATE outbox_parts SET state = 'sent', sent_at = ? WHERE outbox_id = ? AND seq = ?",
                   (now, outbox_id, seq))
        db.execute("UPDATE outbox SET state = CASE WHEN NOT EXISTS (SELECT 1 FROM outbox_parts WHERE"
                   " outbox_id = ? AND state != 'sent') THEN 'sent' ELSE state END, finished_at = ?,"
                   " next_attempt = ? WHERE id = ?", (outbox_id, now, now, outbox_id))


def broadcast_made_by(store: Store, created_by: str) -> int | None:
    """The broadcast an operator's message already made (its ``created_by``), if any."""
    row = store.db.execute("SELECT id FROM broadcasts WHERE created_by = ? ORDER BY id LIMIT 1",
                           (created_by,)).fetchone()
    return None if row is None else row[0]


def broadcast_sms_count(store: Store, broadcast_id: int) -> int:
    return store.db.execute("SELECT COUNT(*) FROM broadcast_recipients WHERE broadcast_id = ?",
                            (broadcast_id,)).fetchone()[0]


def replies_begun(store: Store) -> dict[str, int]:
    """For each node with a reply partly handed over (a part sending or sent), that reply's outbox id: it
    finishes before another reply to that node begins, so replies arrive whole and in order."""
    rows = store.db.execute(
        "SELECT o.recipient, MIN(o.id) FROM outbox o JOIN outbox_parts p ON p.outbox_id = o.id"
        f" WHERE o.state = 'queued' AND o.{NODE_RECIPIENT} AND p.state IN ('sending', 'sent')"
        " GROUP BY o.recipient").fetchall()
    return {row[0]: row[1] for row in rows}


def relays_since(store: Store, node: str, since: float) -> int:
    """SMS relayed for ``node`` since ``since`` (the daily cap)."""
    return store.db.execute(
        "SELECT COUNT(*) FROM outbox o JOIN messages m ON m.id = o.message_id WHERE o.kind = ? AND m.sender = ?"
        " AND o.created_at >= ?", (SMS_RELAY, node, since)).fetchone()[0]


def relay_route(store: Store, number: str, since: float) -> str | None:
    """The node that most recently had an SMS relayed to ``number`` since ``since``, if any."""
    row = store.db.execute(
        "SELECT m.sender FROM outbox o JOIN messages m ON m.id = o.message_id WHERE o.kind = ? AND o.recipient = ?"
        " AND o.created_at >= ? ORDER BY o.id DESC LIMIT 1", (SMS_RELAY, number, since)).fetchone()
    return None if row is None else row[0]
