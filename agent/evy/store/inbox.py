"""Inbound side of the store: parts in, whole messages out (multipart reassembly with a timeout)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from evy.responder.base import Inbound
from evy.sms.message import Deliver
from evy.store.db import Store

SINGLE = -1  # concat_ref of a single-part SMS


@dataclass(frozen=True)
class InboundMessage:
    """A whole message as stored, with what the pipeline needs beyond :class:`Inbound`."""

    inbound: Inbound
    encoding: str


def add_part(store: Store, message: Deliver, pdu: str, now: float | None = None) -> bool:
    """Commit one received part; False when it was already stored (the same part read again)."""
    concat = message.concat
    key_ref = SINGLE if concat is None else concat.ref
    scts = message.timestamp.isoformat() if message.timestamp else ""
    with store.transaction() as db:
        cursor = db.execute(
            "INSERT OR IGNORE INTO parts(sender, scts, concat_ref, concat_total, seq, text, encoding, pdu,"
            " received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (message.sender, scts, key_ref, concat.total if concat else 1, concat.seq if concat else 1,
             message.text, str(message.encoding), pdu, time.time() if now is None else now),
        )
        return cursor.rowcount == 1


def assemble(store: Store, multipart_timeout: float, now: float | None = None) -> int:
    """Turn complete (or timed-out) groups of parts into messages; returns how many were made."""
    now = time.time() if now is None else now
    made = 0
    # Not durable: after a power cut the parts are simply joined again (they are durable).
    with store.transaction(durable=False) as db:
        groups = db.execute(
            "SELECT sender, concat_ref, concat_total, MIN(received_at) AS first, COUNT(DISTINCT seq) AS n"
            " FROM parts WHERE message_id IS NULL GROUP BY sender, concat_ref, concat_total"
        ).fetchall()
        for group in groups:
            single = group["concat_ref"] == SINGLE
            complete = group["n"] >= group["concat_total"]
            if not (single or complete or now - group["first"] >= multipart_timeout):
                continue
            rows = db.execute(
                "SELECT id, seq, text, encoding, received_at FROM parts WHERE message_id IS NULL"
                " AND sender = ? AND concat_ref = ? AND concat_total = ? ORDER BY seq, id",
                (group["sender"], group["concat_ref"], group["concat_total"]),
            ).fetchall()
            # Single parts each become their own message; a multipart group becomes one (a duplicate
            # part is linked to it too, but its text is used once).
            batches = [([row], [row]) for row in rows] if single else [(_unique_seqs(rows), rows)]
            for used, linked in batches:
                text = "".join(row["text"] for row in used)
                encoding = "ucs2" if any(row["encoding"] == "ucs2" for row in used) else used[0]["encoding"]
                incomplete = not single and len(used) < group["concat_total"]
                message_id = db.execute(
                    "INSERT INTO messages(sender, text, encoding, incomplete, received_at) VALUES (?, ?, ?, ?, ?)",
                    (group["sender"], text, encoding, int(incomplete), max(r["received_at"] for r in used)),
                ).lastrowid
                db.executemany("UPDATE parts SET message_id = ? WHERE id = ?",
                               [(message_id, row["id"]) for row in linked])
                made += 1
    return made


def _unique_seqs(rows: list) -> list:
    seen: dict[int, object] = {}
    for row in rows:
        seen.setdefault(row["seq"], row)
    return list(seen.values())


def next_multipart_deadline(store: Store, multipart_timeout: float) -> float | None:
    """When the oldest waiting multipart group times out (epoch seconds), or None."""
    row = store.db.execute(
        "SELECT MIN(received_at) FROM parts WHERE message_id IS NULL AND concat_ref != ?", (SINGLE,)
    ).fetchone()
    return None if row[0] is None else row[0] + multipart_timeout


def pending(store: Store, limit: int = 50) -> list[InboundMessage]:
    """Messages not yet handled, oldest first."""
    rows = store.db.execute(
        "SELECT id, sender, text, encoding, incomplete, received_at FROM messages WHERE state = 'new'"
        " ORDER BY received_at, id LIMIT ?", (limit,)
    ).fetchall()
    return [
        InboundMessage(
            Inbound(row["id"], row["sender"], row["text"], datetime.fromtimestamp(row["received_at"], UTC),
                    bool(row["incomplete"])),
            row["encoding"],
        )
        for row in rows
    ]


def mark_handled(db, message_id: int, verdict: str, now: float | None = None) -> None:
    """Inside the caller's transaction, so the reply is queued and the message closed atomically."""
    db.execute("UPDATE messages SET state = 'handled', verdict = ?, handled_at = ? WHERE id = ?",
               (verdict, time.time() if now is None else now, message_id))


def recent_from(store: Store, sender: str, since: float) -> list[tuple[float, str]]:
    """(received_at, text) of handled messages from one sender since ``since`` (rate limit, loop breaker)."""
    rows = store.db.execute(
        "SELECT received_at, text FROM messages WHERE sender = ? AND received_at >= ? AND state = 'handled'",
        (sender, since),
    ).fetchall()
    return [(row[0], row[1]) for row in rows]


def purge(store: Store, older_than: float) -> int:
    """Retention: drop handled messages (and their parts and finished replies) older than the cutoff."""
    with store.transaction() as db:
        ids = [r[0] for r in db.execute(
            "SELECT id FROM messages WHERE state = 'handled' AND received_at < ? AND NOT EXISTS"
            " (SELECT 1 FROM outbox WHERE outbox.message_id = messages.id AND outbox.state = 'queued')",
            (older_than,))]
        for chunk in range(0, len(ids), 500):
            batch = ids[chunk:chunk + 500]
            marks = ",".join("?" * len(batch))
            db.execute("DELETE FROM outbox_parts WHERE outbox_id IN"
                       f" (SELECT id FROM outbox WHERE message_id IN ({marks}))", batch)
            db.execute(f"DELETE FROM outbox WHERE message_id IN ({marks})", batch)
            db.execute(f"DELETE FROM parts WHERE message_id IN ({marks})", batch)
            db.execute(f"DELETE FROM messages WHERE id IN ({marks})", batch)
    return len(ids)
