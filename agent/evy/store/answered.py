"""Which message each sent SMS answers, read back from the store (for `evy sim`'s transcript and audits).

The link is the store's own: a sent part's TP-MR (the reference the modem gave it) leads to its outbox entry,
and the entry to the inbound message it answers, whatever order the replies left in.
"""

from __future__ import annotations

from dataclasses import dataclass

from evy.store.db import Store


@dataclass(frozen=True)
class AnsweredMessage:
    """What a sent reply answers: the inbound message (None for an SMS relayed for another kit)."""

    message_id: int | None
    message_text: str | None
    kind: str  # 'reply' | 'followup' | 'relay'


@dataclass(frozen=True)
class UnansweredMessage:
    message_id: int
    text: str
    verdict: str


def answered_by_part(store: Store, recipient: str, reference: int) -> AnsweredMessage | None:
    """The message answered by the part most recently sent to ``recipient`` with TP-MR ``reference``; None
    until the agent has recorded that part as sent."""
    row = store.db.execute(
        "SELECT o.message_id, m.text, o.kind FROM outbox_parts p JOIN outbox o ON o.id = p.outbox_id"
        " LEFT JOIN messages m ON m.id = o.message_id"
        " WHERE p.reference = ? AND p.state = 'sent' AND o.recipient = ? ORDER BY p.sent_at DESC LIMIT 1",
        (reference, recipient),
    ).fetchone()
    return None if row is None else AnsweredMessage(row[0], row[1], row[2])


def unanswered_after(store: Store, message_id: int) -> list[UnansweredMessage]:
    """Messages after ``message_id`` the agent closed without a reply (the guards' verdict says why)."""
    rows = store.db.execute(
        "SELECT id, text, verdict FROM messages m WHERE id > ? AND state = 'handled'"
        " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.message_id = m.id AND o.kind = 'reply') ORDER BY id",
        (message_id,),
    ).fetchall()
    return [UnansweredMessage(row[0], row[1], row[2] or "") for row in rows]
