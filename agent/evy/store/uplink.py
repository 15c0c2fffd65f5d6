"""The fleet uplink queue: events for the coordination cell, kept until the broker acknowledged them.

Case and message events are queued by the triggers of migration 4, inside the transaction that changed the
case or message, so an event exists exactly when its change does. Health and metrics snapshots are queued
here; an unsent snapshot is replaced by a newer one (the cell wants the latest, a satellite link pays for
every byte). An event leaves the queue only through :func:`acknowledged`, after the broker's PUBACK.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from evy.store.db import Store

HEALTH_PRIORITY = 4
METRICS_PRIORITY = 5
SNAPSHOT_PRIORITY = {"health": HEALTH_PRIORITY, "metrics": METRICS_PRIORITY}


@dataclass(frozen=True)
class UplinkEvent:
    seq: int
    topic: str  # cases | health | metrics
    type: str
    priority: int
    at: float
    data: str  # compact JSON, as stored


def set_enabled(store: Store, enabled: bool) -> None:
    """Turn queueing by the triggers on or off (the agent mirrors fleet.enabled at start)."""
    with store.transaction(durable=False) as db:
        if enabled:
            db.execute("INSERT OR IGNORE INTO uplink_enabled(one) VALUES (1)")
        else:
            db.execute("DELETE FROM uplink_enabled")


def is_enabled(store: Store) -> bool:
    return store.db.execute("SELECT 1 FROM uplink_enabled").fetchone() is not None


def queue_snapshot(store: Store, topic: str, data: dict[str, Any], now: float) -> int:
    """Queue a health or metrics snapshot in place of an unsent older one; returns its seq."""
    priority = SNAPSHOT_PRIORITY[topic]
    with store.transaction(durable=False) as db:
        db.execute("DELETE FROM uplink WHERE topic = ?", (topic,))
        cursor = db.execute("INSERT INTO uplink(topic, type, priority, at, data) VALUES (?, ?, ?, ?, ?)",
                            (topic, topic, priority, now, json.dumps(data, separators=(",", ":"))))
        return cursor.lastrowid


def next_batch(store: Store, skip: Iterable[int] = (), limit: int = 50,
               topic: str | None = None) -> list[UplinkEvent]:
    """The next events to publish, most urgent first then oldest first, leaving out those in flight (and,
    with ``topic``, those of other topics)."""
    skipped = sorted(set(skip))
    conditions = [f"seq NOT IN ({', '.join('?' * len(skipped))})"] if skipped else []
    if topic is not None:
        conditions.append("topic = ?")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = store.db.execute(f"SELECT seq, topic, type, priority, at, data FROM uplink{where}"
                            " ORDER BY priority, seq LIMIT ?",
                            (*skipped, *([topic] if topic is not None else []), limit)).fetchall()
    return [UplinkEvent(*row) for row in rows]


def acknowledged(store: Store, seqs: Iterable[int]) -> int:
    """Drop events the broker acknowledged; returns how many were still queued."""
    wanted = list(seqs)
    if not wanted:
        return 0
    with store.transaction(durable=False) as db:
        return db.executemany("DELETE FROM uplink WHERE seq = ?", [(seq,) for seq in wanted]).rowcount


def depth(store: Store) -> dict[str, Any]:
    """How many events wait, by topic, and the oldest one's time (for `evy fleet status` and health)."""
    rows = store.db.execute("SELECT topic, COUNT(*), MIN(at), SUM(LENGTH(data)) FROM uplink GROUP BY topic").fetchall()
    by_topic = {row[0]: row[1] for row in rows}
    oldest = min((row[2] for row in rows), default=None)
    return {"queued": sum(by_topic.values()), "by_topic": by_topic, "oldest_at": oldest,
            "bytes": sum(row[3] or 0 for row in rows)}


def last_seq(store: Store) -> int:
    """The highest event number this kit ever gave (0 before the first)."""
    row = store.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'uplink'").fetchone()
    return 0 if row is None else row[0]
