"""The figures /metrics is made of, counted from the store (so the console process can serve them).

Counts cover what the store still holds: handled messages older than store.retention_days are purged, and
a purge shows in Prometheus as a counter reset, which rate() and increase() handle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evy.store.db import Store

LATENCY_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
SENT = ("sent", "relayed")


def received_by_category(store: Store) -> list[tuple[str, int, int]]:
    """(category, priority, messages) of every stored inbound message; category 'none' when its case has
    none (a greeting, a command) and priority 3 (routine) when it has no case."""
    rows = store.db.execute(
        "SELECT COALESCE(c.category, 'none'), COALESCE(c.priority, 3), COUNT(*) FROM messages m"
        " LEFT JOIN cases c ON c.id = m.case_id GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
    return [(row[0], row[1], row[2]) for row in rows]


@dataclass(frozen=True)
class OutboxGroup:
    """Outbox entries sharing kind, state, priority, their case's category and (first replies that left)
    latency bucket: one pass over the outbox gives every outbound figure."""

    kind: str
    state: str
    priority: int
    category: str
    bucket: int | None  # index into LATENCY_BUCKETS (len: above the last); None when not a first reply sent
    count: int
    latency_sum: float
    attempts: int


def outbox_groups(store: Store, buckets: Sequence[float] = LATENCY_BUCKETS) -> list[OutboxGroup]:
    cases = " ".join(f"WHEN latency <= {float(bound)!r} THEN {i}" for i, bound in enumerate(buckets))
    marks = ", ".join("?" * len(SENT))
    rows = store.db.execute(
        "SELECT kind, state, priority, category,"
        f" CASE WHEN latency IS NULL THEN NULL {cases} ELSE {len(buckets)} END AS bucket,"
        " COUNT(*), COALESCE(SUM(latency), 0), SUM(attempts) FROM"
        " (SELECT o.kind AS kind, o.state AS state, o.priority AS priority, o.attempts AS attempts,"
        "  COALESCE(c.category, 'none') AS category,"
        f"  CASE WHEN o.kind = 'reply' AND o.state IN ({marks}) AND o.finished_at IS NOT NULL"
        "   THEN MAX(0, o.finished_at - m.received_at) END AS latency"
        "  FROM outbox o LEFT JOIN messages m ON m.id = o.message_id LEFT JOIN cases c ON c.id = m.case_id)"
        " GROUP BY 1, 2, 3, 4, 5", SENT).fetchall()
    return [OutboxGroup(*row) for row in rows]


def inbox_depths(store: Store) -> dict[str, int]:
    return {
        "parts_waiting": store.db.execute("SELECT COUNT(*) FROM parts WHERE message_id IS NULL").fetchone()[0],
        "messages_new": store.db.execute("SELECT COUNT(*) FROM messages WHERE state = 'new'").fetchone()[0],
    }


def queued_by_priority(store: Store) -> dict[int, int]:
    return {row[0]: row[1] for row in
            store.db.execute("SELECT priority, COUNT(*) FROM outbox WHERE state = 'queued' GROUP BY priority")}


def cases_by_status(store: Store) -> dict[str, int]:
    return {row[0]: row[1] for row in store.db.execute("SELECT status, COUNT(*) FROM cases GROUP BY status")}
