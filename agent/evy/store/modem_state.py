"""The modem's last known state for `evy status` (state, signal, operator, last error), and the mark of a
PIN the SIM refused, which outlives restarts so that PIN is never entered again."""

from __future__ import annotations

import time

from evy.store.db import Store

REJECTED_PIN = "rejected_pin"


def record(store: Store, *, durable: bool = False, **values: str) -> None:
    now = time.time()
    with store.transaction(durable=durable) as db:
        db.executemany("INSERT INTO modem_state(key, value, at) VALUES (?, ?, ?) "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value, at = excluded.at",
                       [(k, v, now) for k, v in values.items()])


def value(store: Store, key: str) -> str | None:
    row = store.db.execute("SELECT value FROM modem_state WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def rejected_pin(store: Store) -> str | None:
    """The hash of the last PIN the SIM refused (never the PIN itself), or None."""
    return value(store, REJECTED_PIN)


def remember_rejected_pin(store: Store, pin_hash: str) -> None:
    """Durably: a refused PIN entered again after a power cut would bring the SIM closer to its PUK lock."""
    record(store, durable=True, **{REJECTED_PIN: pin_hash})
