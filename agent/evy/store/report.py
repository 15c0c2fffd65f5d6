"""What `evy status` shows: queue depths, modem state and the last errors, read from the store."""

from __future__ import annotations

import json
from typing import Any

from evy.store import downlink
from evy.store.db import Store, free_bytes

INCIDENTS_SHOWN = 5


def status(store: Store) -> dict[str, Any]:
    db = store.db

    def count(sql: str, *args: Any) -> int:
        return db.execute(sql, args).fetchone()[0]

    outbox_by_state = {row[0]: row[1] for row in db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state")}
    queued_by_priority = {str(row[0]): row[1] for row in db.execute(
        "SELECT priority, COUNT(*) FROM outbox WHERE state = 'queued' GROUP BY priority ORDER BY priority")}
    modem = {row[0]: row[1] for row in db.execute("SELECT key, value FROM modem_state")}
    updated = db.execute("SELECT MAX(at) FROM modem_state").fetchone()[0]
    last_failure = db.execute(
        "SELECT last_error FROM outbox WHERE last_error IS NOT NULL ORDER BY next_attempt DESC LIMIT 1"
    ).fetchone()
    return {
        "store": store_state(store),
        "inbox": {
            "parts_waiting": count("SELECT COUNT(*) FROM parts WHERE message_id IS NULL"),
            "messages_new": count("SELECT COUNT(*) FROM messages WHERE state = 'new'"),
            "messages_handled": count("SELECT COUNT(*) FROM messages WHERE state = 'handled'"),
        },
        "outbox": {
            "queued": outbox_by_state.get("queued", 0),
            "sent": outbox_by_state.get("sent", 0),
            "failed": outbox_by_state.get("failed", 0),
            "queued_by_priority": queued_by_priority,
            "parts_delivered": count("SELECT COUNT(*) FROM outbox_parts WHERE report_status < 32"),
            "last_error": last_failure[0] if last_failure else None,
        },
        "opted_out": count("SELECT COUNT(*) FROM optouts"),
        "downlink": {key: value for key, value in downlink.summary(store, recent=1).items() if key != "signers"},
        "modem": {
            "state": modem.get("state", "unknown"),
            "signal": int(modem["signal"]) if modem.get("signal") else None,
            "operator": modem.get("operator") or None,
            "last_error": modem.get("last_error") or None,
            "updated_at": updated,
        },
    }


def store_state(store: Store) -> dict[str, Any]:
    """Whether the database is on disk, the room left, and the latest incidents (damaged files salvaged)."""
    rows = store.db.execute("SELECT at, kind, detail, moved_to, recovered FROM incidents ORDER BY id DESC"
                            " LIMIT ?", (INCIDENTS_SHOWN,)).fetchall()
    return {
        "state": "ok" if store.durable else f"in memory: {store.degraded}",
        "free_bytes": free_bytes(store.path.parent),
        "incidents": [{"at": r["at"], "kind": r["kind"], "detail": r["detail"], "moved_to": r["moved_to"],
                       "recovered": json.loads(r["recovered"] or "{}")} for r in rows],
    }


def queued_replies(store: Store) -> int:
    return store.db.execute("SELECT COUNT(*) FROM outbox WHERE state = 'queued'").fetchone()[0]
