"""Inbound side of the store: parts in, whole messages out (multipart reassembly with a timeout)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from evy.messages import Inbound
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
    """Turn complete (or timed-out) multipart messages, and every single-part SMS, into messages; returns how
    many were made. Parts more than ``multipart_timeout`` apart never make one message (see
    :func:`_split_messages`)."""
    now = time.time() if now is None else now
    made = 0
    # Not durable: after a power cut the parts are simply joined again (they are durable).
    with store.transaction(durable=False) as db:
        for row in db.execute(
            "SELECT id, sender, seq, text, encoding, received_at FROM parts WHERE message_id IS NULL"
            " AND concat_ref = ? ORDER BY id", (SINGLE,),
        ).fetchall():
            _make_message(db, row["sender"], [row], [row], incomplete=False)
            made += 1
        groups: dict[tuple[str, int, int], list] = {}
        for row in db.execute(
            "SELECT id, sender, scts, concat_ref, concat_total, seq, text, encoding, received_at FROM parts"
            " WHERE message_id IS NULL AND concat_ref != ? ORDER BY id", (SINGLE,),
        ).fetchall():
            groups.setdefault((row["sender"], row["concat_ref"], row["concat_total"]), []).append(row)
        for (sender, _ref, total), rows in groups.items():
            for linked in _split_messages(rows, multipart_timeout):
                used = _unique_seqs(sorted(linked, key=lambda r: (r["seq"], r["id"])))
                complete = len(used) >= total
                if not (complete or now - min(r["received_at"] for r in linked) >= multipart_timeout):
                    continue
                _make_message(db, sender, used, linked, incomplete=not complete)
                made += 1
    return made


def _make_message(db, sender: str, used: list, linked: list, incomplete: bool) -> None:
    """One message from ``used`` (one part per number, in order); every part in ``linked`` points to it."""
    text = "".join(row["text"] for row in used)
    encoding = "ucs2" if any(row["encoding"] == "ucs2" for row in used) else used[0]["encoding"]
    message_id = db.execute(
        "INSERT INTO messages(sender, text, encoding, incomplete, received_at) VALUES (?, ?, ?, ?, ?)",
        (sender, text, encoding, int(incomplete), max(r["received_at"] for r in used)),
    ).lastrowid
    db.executemany("UPDATE parts SET message_id = ? WHERE id = ?", [(message_id, row["id"]) for row in linked])


def _split_messages(rows: list, gap: float) -> list[list]:
    """The messages among one sender's waiting parts that share a concatenation reference and part count.

    The reference is 8 bits and some phones reuse one for every message, so it alone does not name a
    message. In the order the SMS centre stamped them, a part joins the latest message that can take it: one
    that began at most ``gap`` seconds earlier and holds no part with its number and another text (the same
    number and text is a repeat, used once). Otherwise it starts a new message.
    """
    messages: list[list] = []
    for row in sorted(rows, key=lambda r: (_stamped(r), r["id"])):
        home = None
        for message in reversed(messages):
            if _stamped(row) - _stamped(message[0]) > gap:
                continue
            if any(held["seq"] == row["seq"] and held["text"] != row["text"] for held in message):
                continue
            home = message
            break
        if home is None:
            messages.append([row])
        else:
            home.append(row)
    return messages


def _stamped(row) -> float:
    """When the SMS centre stamped the part (epoch seconds); when it has no stamp, when it was received."""
    if row["scts"]:
        try:
            return datetime.fromisoformat(row["scts"]).timestamp()
        except ValueError:
            pass
    return row["received_at"]


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


def written_since(store: Store, sender: str, message_id: int) -> bool:
    """Whether ``sender`` has sent a message after message ``message_id``."""
    return store.db.execute("SELECT 1 FROM messages WHERE sender = ? AND id > ? LIMIT 1",
                            (sender, message_id)).fetchone() is not None


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
