"""A store full of plausible traffic for benchmarks (``invoke bench``): cases, their messages in and the
replies that left, spread over the last days. Never used by the agent itself."""

from __future__ import annotations

import random

from evy.store.db import Store

CATEGORIES = ("medical", "fire", "flood", "trapped", "shelter", "water_food", None)
STATUSES = ("new", "acknowledged", "dispatched", "resolved", "closed")


def fill(store: Store, cases: int, *, now: float, seed: int = 7, messages_per_case: int = 2) -> None:
    """Add ``cases`` cases, each with ``messages_per_case`` messages answered by a reply that left."""
    rng = random.Random(seed)
    with store.transaction(durable=False) as db:
        for index in range(cases):
            sender = f"+2547{index:08d}"
            opened = now - rng.uniform(0, 7 * 86400)
            category = rng.choice(CATEGORIES)
            priority = rng.choice((0, 1, 3, 3, 3)) if category else 3
            case_id = db.execute(
                "INSERT INTO cases(sender, opened_at, updated_at, status, category, priority, emergency, last_in_at,"
                " last_out_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sender, opened, opened + 60, rng.choice(STATUSES), category, priority, int(priority <= 1), opened,
                 opened + 5)).lastrowid
            for turn in range(messages_per_case):
                received = opened + turn * 120
                message_id = db.execute(
                    "INSERT INTO messages(sender, text, encoding, received_at, state, verdict, handled_at, case_id)"
                    " VALUES (?, ?, 'gsm7', ?, 'handled', 'answered', ?, ?)",
                    (sender, f"message {turn} about {category}", received, received + 0.2, case_id)).lastrowid
                sent = received + rng.lognormvariate(1.0, 0.8)
                outbox_id = db.execute(
                    "INSERT INTO outbox(message_id, kind, recipient, text, encoding, priority, state, next_attempt,"
                    " created_at, finished_at) VALUES (?, 'reply', ?, 'reply', 'gsm7', ?, 'sent', ?, ?, ?)",
                    (message_id, sender, priority, received, received, sent)).lastrowid
                db.execute("INSERT INTO outbox_parts(outbox_id, seq, pdu, tpdu_length, state, sent_at, report_status)"
                           " VALUES (?, 1, '00', 1, 'sent', ?, 0)", (outbox_id, sent))


def conversation(store: Store, sender: str, now: float, rng: random.Random, *, turns: int = 2,
                 spacing: float = 1.0) -> int:
    """One case as the agent writes it, transaction by transaction (a message stored, then handled with its
    case and reply, then the reply sent), so the fleet triggers see what they see on a kit; returns the case id.
    ``spacing``: seconds between the turns' timestamps (0 for a benchmark that times the events)."""
    category = rng.choice(CATEGORIES)
    priority = rng.choice((0, 1, 3, 3, 3)) if category else 3
    case_id = None
    for turn in range(turns):
        at = now + turn * spacing
        with store.transaction(durable=False) as db:
            message_id = db.execute(
                "INSERT INTO messages(sender, text, encoding, received_at) VALUES (?, ?, 'gsm7', ?)",
                (sender, f"message {turn} about {category}", at)).lastrowid
        with store.transaction(durable=False) as db:
            if case_id is None:
                case_id = db.execute("INSERT INTO cases(sender, opened_at, updated_at) VALUES (?, ?, ?)",
                                     (sender, at, at)).lastrowid
                db.execute("UPDATE cases SET category = ?, priority = ?, emergency = ?, status = 'acknowledged',"
                           " last_in_at = ? WHERE id = ?", (category, priority, int(priority <= 1), at, case_id))
            db.execute("UPDATE messages SET case_id = ?, state = 'handled', handled_at = ? WHERE id = ?",
                       (case_id, at, message_id))
            outbox_id = db.execute(
                "INSERT INTO outbox(message_id, kind, recipient, text, encoding, priority, next_attempt, created_at)"
                " VALUES (?, 'reply', ?, ?, 'gsm7', ?, ?, ?)",
                (message_id, sender, f"reply {turn}", priority, at, at)).lastrowid
        with store.transaction(durable=False) as db:
            db.execute("UPDATE outbox SET state = 'sent', finished_at = ? WHERE id = ?",
                       (at + 0.5 * spacing, outbox_id))
    if rng.random() < 0.5:
        with store.transaction(durable=False) as db:
            db.execute("UPDATE cases SET status = 'closed', updated_at = ? WHERE id = ?",
                       (now + turns * spacing, case_id))
    return case_id


def conversation_events(store: Store) -> int:
    """How many case events :func:`conversation` made in this store (while the fleet was on): per case it was
    opened and acknowledged, a message in and a reply out per turn, and a status event when it closed."""
    one = store.db.execute
    return (2 * one("SELECT COUNT(*) FROM cases").fetchone()[0]
            + one("SELECT COUNT(*) FROM messages WHERE case_id IS NOT NULL").fetchone()[0]
            + one("SELECT COUNT(*) FROM outbox WHERE state = 'sent' AND message_id IS NOT NULL").fetchone()[0]
            + one("SELECT COUNT(*) FROM cases WHERE status = 'closed'").fetchone()[0])
