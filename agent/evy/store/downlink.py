"""The downlink in the store (migration 6): per signer, the highest sequence applied (replays and rollbacks
are refused against it); a log of every message verified or refused; and the `downlink.applied` /
`downlink.refused` events queued for the cell in the same transaction as the log entry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from evy.store.db import Store

EVENT_PRIORITY = 3  # after emergencies and replies' case events, before health (4) and metrics (5)
TOPIC = "downlink"


@dataclass(frozen=True)
class SignerState:
    last_seq: int
    last_digest: str


@dataclass(frozen=True)
class Outcome:
    topic: str  # the MQTT topic it came on
    raw_digest: str  # sha256 of the raw message
    signer: str | None = None
    seq: int | None = None
    kind: str | None = None
    target: str | None = None


def signer_state(store: Store, signer: str) -> SignerState | None:
    row = store.db.execute("SELECT last_seq, last_digest FROM downlink_signers WHERE signer = ?",
                           (signer,)).fetchone()
    return None if row is None else SignerState(row[0], row[1])


def _log_and_queue(db: Any, outcome: Outcome, result: str, reason: str, now: float) -> None:
    db.execute("INSERT INTO downlink_log(received_at, topic, signer, seq, kind, outcome, reason, digest)"
               " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               (now, outcome.topic, outcome.signer, outcome.seq, outcome.kind, result, reason, outcome.raw_digest))
    data = {"topic": outcome.topic, "signer": outcome.signer, "seq": outcome.seq, "kind": outcome.kind,
            "target": outcome.target, "reason": reason, "digest": outcome.raw_digest}
    db.execute("INSERT INTO uplink(topic, type, priority, at, data) VALUES (?, ?, ?, ?, ?)",
               (TOPIC, f"downlink.{result}", EVENT_PRIORITY, now, json.dumps(data, separators=(",", ":"))))


def applied(store: Store, outcome: Outcome, envelope_digest: str, summary: str, now: float) -> None:
    """Record an applied message: the signer's sequence moves up, the log and the cell hear of it."""
    if outcome.signer is None or outcome.seq is None:
        raise ValueError("an applied message has a signer and a sequence number")
    with store.transaction() as db:
        db.execute("INSERT INTO downlink_signers(signer, last_seq, last_digest, updated_at) VALUES (?, ?, ?, ?)"
                   " ON CONFLICT(signer) DO UPDATE SET last_seq = excluded.last_seq,"
                   " last_digest = excluded.last_digest, updated_at = excluded.updated_at"
                   " WHERE excluded.last_seq > downlink_signers.last_seq",
                   (outcome.signer, outcome.seq, envelope_digest, now))
        _log_and_queue(db, outcome, "applied", summary, now)


def refused(store: Store, outcome: Outcome, reason: str, now: float) -> None:
    """Record a refused message (nothing else changes); the cell hears of it as `downlink.refused`."""
    with store.transaction() as db:
        _log_and_queue(db, outcome, "refused", reason, now)


def broadcast_made_by(store: Store, marker: str) -> int | None:
    """The broadcast a downlink message already queued (its ``created_by`` is the message's marker)."""
    row = store.db.execute("SELECT id FROM broadcasts WHERE created_by = ?", (marker,)).fetchone()
    return None if row is None else row[0]


def fact_made_by(store: Store, marker: str) -> int | None:
    """The local information a downlink message already set (its ``updated_by`` is the message's marker)."""
    row = store.db.execute("SELECT id FROM local_info WHERE updated_by = ?", (marker,)).fetchone()
    return None if row is None else row[0]


def summary(store: Store, recent: int = 5) -> dict[str, Any]:
    """Counts by outcome, the latest refusals and the signers' sequences (`evy fleet status`, `evy status`)."""
    counts = dict(store.db.execute("SELECT outcome, COUNT(*) FROM downlink_log GROUP BY outcome").fetchall())
    last = store.db.execute("SELECT received_at, topic, signer, seq, kind, reason FROM downlink_log"
                            " WHERE outcome = 'refused' ORDER BY id DESC LIMIT ?", (recent,)).fetchall()
    signers = store.db.execute("SELECT signer, last_seq, updated_at FROM downlink_signers ORDER BY signer").fetchall()
    return {"applied": counts.get("applied", 0), "refused": counts.get("refused", 0),
            "recent_refused": [dict(row) for row in last],
            "signers": {row[0]: {"last_seq": row[1], "updated_at": row[2]} for row in signers}}


def counts_by(store: Store) -> list[tuple[str, str, int]]:
    """(outcome, kind, count) for /metrics; kind '' for a message that could not be read that far."""
    return [(row[0], row[1] or "", row[2]) for row in store.db.execute(
        "SELECT outcome, kind, COUNT(*) FROM downlink_log GROUP BY outcome, kind ORDER BY outcome, kind")]
