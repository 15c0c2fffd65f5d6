"""Senders who texted STOP: they get no more messages until they text START."""

from __future__ import annotations

import time

from evy.store.broadcasts import forget_on_stop
from evy.store.db import GuardedConnection, Store


def is_opted_out(store: Store, sender: str) -> bool:
    return store.db.execute("SELECT 1 FROM optouts WHERE sender = ?", (sender,)).fetchone() is not None


def set_opted_out(db: GuardedConnection, sender: str, stopped: bool, now: float | None = None) -> None:
    """Inside the caller's transaction, so the confirmation is queued and the opt-out kept atomically."""
    if stopped:
        db.execute("INSERT OR IGNORE INTO optouts(sender, stopped_at) VALUES (?, ?)",
                   (sender, time.time() if now is None else now))
        forget_on_stop(db, sender, now)  # STOP wins over JOIN and over broadcasts already queued
    else:
        db.execute("DELETE FROM optouts WHERE sender = ?", (sender,))
