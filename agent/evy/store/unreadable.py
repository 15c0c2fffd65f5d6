"""Received PDUs that do not decode, kept raw so nothing received is lost and the SIM slot can be freed."""

from __future__ import annotations

import time

from evy.store.db import Store


def keep(store: Store, pdu: str, reason: str) -> None:
    """Durably, before the PDU's SIM slot is freed; the same PDU kept twice is one row."""
    with store.transaction() as db:
        db.execute("INSERT OR IGNORE INTO unreadable(pdu, reason, received_at) VALUES (?, ?, ?)",
                   (pdu, reason, time.time()))
