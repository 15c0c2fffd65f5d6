"""The agent's health snapshots in the store, for the console process: the latest figures only the agent
knows (modem, mesh, airtime, model) as JSON, a battery and solar history, and counts of events that leave no
row behind. Written cheaply and not durably: losing the last snapshot to a power cut loses nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from evy.power.reading import PowerReading
from evy.store.db import GuardedConnection, Store


@dataclass(frozen=True)
class PowerPoint:
    at: float
    battery_pct: int | None
    charging: bool | None
    external: bool | None
    volts: float | None
    amps: float | None
    watts: float | None


def record(store: Store, source: str, data: dict[str, Any], power: PowerReading | None, now: float) -> None:
    with store.transaction(durable=False) as db:
        db.execute("INSERT INTO health_latest(source, at, data) VALUES (?, ?, ?) ON CONFLICT(source)"
                   " DO UPDATE SET at = excluded.at, data = excluded.data", (source, now, json.dumps(data)))
        if power is not None and any(v is not None for v in (power.battery_pct, power.volts, power.watts)):
            db.execute("INSERT OR REPLACE INTO power_history(at, battery_pct, charging, external, volts, amps, watts)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (now, power.battery_pct, _flag(power.charging), _flag(power.external_power), power.volts,
                        power.amps, power.watts))


def latest(store: Store, source: str) -> tuple[float, dict[str, Any]] | None:
    """(when, data) of the newest snapshot from ``source``, or None when it never wrote one."""
    row = store.db.execute("SELECT at, data FROM health_latest WHERE source = ?", (source,)).fetchone()
    return None if row is None else (row["at"], json.loads(row["data"]))


def power_history(store: Store, since: float, limit: int = 2000) -> list[PowerPoint]:
    """Battery and solar readings since ``since``, oldest first; thinned evenly to at most ``limit``."""
    count = store.db.execute("SELECT COUNT(*) FROM power_history WHERE at >= ?", (since,)).fetchone()[0]
    step = max(1, -(-count // limit))
    rows = store.db.execute(
        "SELECT at, battery_pct, charging, external, volts, amps, watts FROM"
        " (SELECT *, ROW_NUMBER() OVER (ORDER BY at) - 1 AS n FROM power_history WHERE at >= ?)"
        " WHERE n % ? = 0 ORDER BY at", (since, step)).fetchall()
    return [PowerPoint(row["at"], row["battery_pct"], _bool(row["charging"]), _bool(row["external"]), row["volts"],
                       row["amps"], row["watts"]) for row in rows]


def prune(store: Store, before: float) -> int:
    with store.transaction(durable=False) as db:
        return db.execute("DELETE FROM power_history WHERE at < ?", (before,)).rowcount


def count_event(db: GuardedConnection, name: str, label: str = "", by: int = 1) -> None:
    """Add to an event count inside the caller's transaction."""
    db.execute("INSERT INTO event_counts(name, label, value) VALUES (?, ?, ?) ON CONFLICT(name, label)"
               " DO UPDATE SET value = value + excluded.value", (name, label, by))


def bump(store: Store, name: str, label: str = "", by: int = 1) -> None:
    with store.transaction(durable=False) as db:
        count_event(db, name, label, by)


def event_counts(store: Store) -> dict[tuple[str, str], int]:
    return {(row[0], row[1]): row[2] for row in store.db.execute("SELECT name, label, value FROM event_counts")}


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)
