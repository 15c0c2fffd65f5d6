"""Persistent rolling counters: a restart never reuses a value soon (the concatenation reference of a
multipart reply, which the recipient's phone uses to put its parts together)."""

from __future__ import annotations

from evy.store.db import GuardedConnection

CONCAT_REF = "concat_ref"


def reserve(db: GuardedConnection, name: str, modulo: int, count: int) -> list[int]:
    """The counter's next ``count`` consecutive values (mod ``modulo``; 0 first), inside the caller's transaction."""
    row = db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
    first = 0 if row is None else row[0] + 1
    values = [(first + i) % modulo for i in range(count)]
    if values:
        db.execute("INSERT INTO counters(name, value) VALUES (?, ?) "
                   "ON CONFLICT(name) DO UPDATE SET value = excluded.value", (name, values[-1]))
    return values


def next_value(db: GuardedConnection, name: str, modulo: int) -> int:
    """The counter's next value (0 the first time), inside the caller's transaction."""
    return reserve(db, name, modulo, 1)[0]


def next_concat_ref(db: GuardedConnection) -> int:
    """The 8-bit concatenation reference for the next reply, in the transaction that queues it."""
    return next_value(db, CONCAT_REF, 256)


def reserve_concat_refs(db: GuardedConnection, count: int) -> list[int]:
    """``count`` consecutive concatenation references for a broadcast, taken at once in its transaction."""
    return reserve(db, CONCAT_REF, 256, count)
