"""The figures /metrics is made of, counted from the store (so the console process can serve them).

Counts cover what the store still holds: handled messages older than store.retention_days are purged, and
a purge shows in Prometheus as a counter reset, which rate() and increase() handle.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def sent_by_kind(store: Store) -> list[tuple[str, str, int, int]]:
    """(kind, category, priority, outbox entries sent) — each entry is one whole SMS, maybe several parts."""
    marks = ", ".join("?" * len(SENT))
    rows = store.db.execute(
        "SELECT o.kind, COALESCE(c.category, 'none'), o.priority, COUNT(*) FROM outbox o"
        " LEFT JOIN messages m ON m.id = o.message_id LEFT JOIN cases c ON c.id = m.case_id"
        f" WHERE o.state IN ({marks}) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3", SENT).fetchall()
    return [(row[0], row[1], row[2], row[3]) for row in rows]


def outbox_by_state(store: Store) -> dict[tuple[str, str], int]:
    """(kind, state) -> entries."""
    return {(row[0], row[1]): row[2] for row in
            store.db.execute("SELECT kind, state, COUNT(*) FROM outbox GROUP BY kind, state")}


def queued_by_priority(store: Store) -> dict[int, int]:
    return {row[0]: row[1] for row in
            store.db.execute("SELECT priority, COUNT(*) FROM outbox WHERE state = 'queued' GROUP BY priority")}


def send_failures(store: Store) -> int:
    """Failed send attempts over every stored outbox entry (each failure spends one attempt)."""
    return store.db.execute("SELECT COALESCE(SUM(attempts), 0) FROM outbox").fetchone()[0]


def inbox_depths(store: Store) -> dict[str, int]:
    return {
        "parts_waiting": store.db.execute("SELECT COUNT(*) FROM parts WHERE message_id IS NULL").fetchone()[0],
        "messages_new": store.db.execute("SELECT COUNT(*) FROM messages WHERE state = 'new'").fetchone()[0],
    }


def reply_latency(store: Store, buckets: Sequence[float] = LATENCY_BUCKETS) -> dict[int, tuple[list[int], float, int]]:
    """Per priority: (cumulative counts per bucket, sum of seconds, count) from a message's arrival to the
    last part of its first reply leaving."""
    columns = ", ".join(f"SUM(CASE WHEN latency <= {float(b)!r} THEN 1 ELSE 0 END)" for b in buckets)
    marks = ", ".join("?" * len(SENT))
    rows = store.db.execute(
        f"SELECT priority, {columns}, SUM(latency), COUNT(*) FROM"
        " (SELECT o.priority AS priority, MAX(0, o.finished_at - m.received_at) AS latency FROM outbox o"
        f" JOIN messages m ON m.id = o.message_id WHERE o.kind = 'reply' AND o.state IN ({marks})"
        " AND o.finished_at IS NOT NULL) GROUP BY priority ORDER BY priority", SENT).fetchall()
    return {row[0]: ([row[1 + i] for i in range(len(buckets))], row[-2] or 0.0, row[-1]) for row in rows}


def cases_by_status(store: Store) -> dict[str, int]:
    return {row[0]: row[1] for row in store.db.execute("SELECT status, COUNT(*) FROM cases GROUP BY status")}
