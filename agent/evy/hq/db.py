"""The coordination cell's database: every kit's fleet events, stored once each, and what they add up to
(the kits with their latest health, every case on one board, people linked across kits by number).

Idempotent by construction: the event id is the primary key, and an event changes the board only in the
transaction that first stores it. Events may arrive in any order (the kit drains emergencies first): a case
row takes a case event's fields only when that event is newer (higher seq) than the one it holds.

SQLite (WAL, synchronous=FULL: an event is on disk before the broker gets its PUBACK). The SQL is plain
enough for PostgreSQL (ON CONFLICT upserts, no SQLite-only functions in the writes); see docs/fleet.md.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evy.errors import EvyError
from evy.fleet.events import Event

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id          TEXT PRIMARY KEY,           -- kit:seq
    kit         TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    topic       TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    at          REAL    NOT NULL,           -- when it happened on the kit
    priority    INTEGER NOT NULL,
    data        TEXT    NOT NULL,
    received_at REAL    NOT NULL            -- when the cell stored it
);
CREATE INDEX IF NOT EXISTS events_kit ON events (kit, seq);
CREATE TABLE IF NOT EXISTS kits (
    kit        TEXT PRIMARY KEY,
    first_seen REAL NOT NULL,
    last_seen  REAL NOT NULL,
    events     INTEGER NOT NULL DEFAULT 0,
    health     TEXT,
    health_at  REAL,
    metrics    TEXT,
    metrics_at REAL
);
CREATE TABLE IF NOT EXISTS cases (
    kit          TEXT    NOT NULL,
    case_id      INTEGER NOT NULL,
    sender       TEXT    NOT NULL,
    opened_at    REAL,
    updated_at   REAL,
    status       TEXT    NOT NULL DEFAULT 'new',
    language     TEXT,
    category     TEXT,
    topic        TEXT,
    priority     INTEGER NOT NULL DEFAULT 3,
    emergency    INTEGER NOT NULL DEFAULT 0,
    location     TEXT,
    lat          REAL,
    lon          REAL,
    people       INTEGER,
    last_seq     INTEGER NOT NULL DEFAULT 0, -- the case event its fields come from
    messages_in  INTEGER NOT NULL DEFAULT 0,
    messages_out INTEGER NOT NULL DEFAULT 0,
    last_message_at REAL,
    PRIMARY KEY (kit, case_id)
);
CREATE INDEX IF NOT EXISTS cases_sender ON cases (sender);
CREATE TABLE IF NOT EXISTS rejected (
    id          INTEGER PRIMARY KEY,
    topic       TEXT NOT NULL,
    payload     BLOB NOT NULL,
    reason      TEXT NOT NULL,
    received_at REAL NOT NULL
);
"""

CASE_FIELDS = ("sender", "opened_at", "status", "language", "category", "topic", "priority", "emergency",
               "location", "lat", "lon", "people")


class HqError(EvyError):
    """The cell's database cannot be opened or written."""


@dataclass(frozen=True)
class FleetCase:
    kit: str
    case_id: int
    sender: str
    status: str
    priority: int
    emergency: bool
    category: str | None
    location: str | None
    lat: float | None
    lon: float | None
    opened_at: float | None
    updated_at: float | None
    messages_in: int
    messages_out: int


class HqDatabase:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise HqError(f"{path}: cannot open the cell's database: {exc}") from None

    def close(self) -> None:
        with suppress(sqlite3.Error):
            self.db.close()

    def __enter__(self) -> HqDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes ------------------------------------------------------------------------------------------
    def ingest(self, event: Event, received_at: float) -> bool:
        """Store an event and apply it to the board; False (and nothing changes) when it was stored before."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            stored = db.execute(
                "INSERT INTO events(id, kit, seq, topic, type, at, priority, data, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
                (event.id, event.kit, event.seq, event.topic, event.type, event.at, event.priority,
                 json.dumps(event.data, separators=(",", ":")), received_at)).rowcount == 1
            if stored:
                self._apply(event, received_at)
            db.execute("COMMIT")
        except BaseException:
            with suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        return stored

    def _apply(self, event: Event, received_at: float) -> None:
        db, data = self.db, event.data
        db.execute("INSERT INTO kits(kit, first_seen, last_seen, events) VALUES (?, ?, ?, 1) ON CONFLICT(kit)"
                   " DO UPDATE SET last_seen = MAX(kits.last_seen, excluded.last_seen), events = kits.events + 1",
                   (event.kit, received_at, received_at))
        if event.type in ("health", "metrics"):
            db.execute(f"UPDATE kits SET {event.type} = ?, {event.type}_at = ? WHERE kit = ?"
                       f" AND ({event.type}_at IS NULL OR {event.type}_at <= ?)",
                       (json.dumps(data, separators=(",", ":")), event.at, event.kit, event.at))
            return
        case_id = data.get("case")
        if not isinstance(case_id, int):
            return  # a reply whose message had no case: kept in events only
        if event.type.startswith("case."):
            values = [data.get(name) for name in CASE_FIELDS]
            values[CASE_FIELDS.index("emergency")] = int(bool(data.get("emergency")))
            values[CASE_FIELDS.index("priority")] = data.get("priority", 3)
            values[CASE_FIELDS.index("status")] = data.get("status", "new")
            updates = ", ".join(f"{name} = excluded.{name}" for name in (*CASE_FIELDS, "updated_at", "last_seq"))
            db.execute(
                f"INSERT INTO cases(kit, case_id, {', '.join(CASE_FIELDS)}, updated_at, last_seq)"
                f" VALUES (?, ?, {', '.join('?' * len(CASE_FIELDS))}, ?, ?) ON CONFLICT(kit, case_id)"
                f" DO UPDATE SET {updates} WHERE excluded.last_seq > cases.last_seq",
                (event.kit, case_id, *values, event.at, event.seq))
            return
        column = "messages_in" if event.type == "message.in" else "messages_out"
        party = data.get("sender") if event.type == "message.in" else data.get("recipient")
        db.execute(f"INSERT INTO cases(kit, case_id, sender, {column}, last_message_at) VALUES (?, ?, ?, 1, ?)"
                   f" ON CONFLICT(kit, case_id) DO UPDATE SET {column} = cases.{column} + 1,"
                   " last_message_at = MAX(COALESCE(cases.last_message_at, 0), excluded.last_message_at)",
                   (event.kit, case_id, party or "", event.at))

    def reject(self, topic: str, payload: bytes, reason: str, received_at: float) -> None:
        """Keep a message that is not a valid event, raw, for a human (it is acknowledged, never retried)."""
        self.db.execute("INSERT INTO rejected(topic, payload, reason, received_at) VALUES (?, ?, ?, ?)",
                        (topic, payload, reason, received_at))

    # -- reads ---------------------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        one = self.db.execute
        return {"events": one("SELECT COUNT(*) FROM events").fetchone()[0],
                "kits": one("SELECT COUNT(*) FROM kits").fetchone()[0],
                "cases": one("SELECT COUNT(*) FROM cases").fetchone()[0],
                "rejected": one("SELECT COUNT(*) FROM rejected").fetchone()[0]}

    def case_event_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM events WHERE topic = 'cases'").fetchone()[0]

    def duplicates_stored(self) -> int:
        """Rows sharing an id: 0 by construction (the primary key); the scale run checks it all the same."""
        return self.db.execute("SELECT COUNT(*) - COUNT(DISTINCT id) FROM events").fetchone()[0]

    def timings(self) -> list[tuple[str, str, float, float]]:
        """(kit, topic, when it happened on the kit, when the cell stored it) of every event."""
        return [tuple(row) for row in self.db.execute("SELECT kit, topic, at, received_at FROM events")]

    def event_ids(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT id FROM events")}

    def kits(self, now: float, stale_after: float) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT kit, first_seen, last_seen, events, health, health_at FROM kits ORDER BY kit")
        return [{"kit": row["kit"], "first_seen": row["first_seen"], "last_seen": row["last_seen"],
                 "events": row["events"], "stale": now - row["last_seen"] > stale_after,
                 "health": json.loads(row["health"]) if row["health"] else None, "health_at": row["health_at"]}
                for row in rows]

    def board(self, limit: int = 1000) -> list[FleetCase]:
        """Every kit's cases, open ones first, most urgent first, then oldest first."""
        rows = self.db.execute(
            "SELECT * FROM cases ORDER BY status IN ('resolved', 'closed'), priority, opened_at, kit, case_id"
            " LIMIT ?", (limit,)).fetchall()
        return [_fleet_case(row) for row in rows]

    def linked(self, sender: str) -> list[FleetCase]:
        """The same person's cases on every kit they texted."""
        rows = self.db.execute("SELECT * FROM cases WHERE sender = ? ORDER BY opened_at, kit", (sender,))
        return [_fleet_case(row) for row in rows]

    def people_on_several_kits(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT sender, COUNT(DISTINCT kit), COUNT(*) FROM cases WHERE sender <> ''"
                               " GROUP BY sender HAVING COUNT(DISTINCT kit) > 1 ORDER BY sender")
        return [{"sender": row[0], "kits": row[1], "cases": row[2]} for row in rows]

    def downlink_outcomes(self, limit: int = 50) -> list[dict[str, Any]]:
        """What kits made of the cell's signed messages (`downlink.applied` / `downlink.refused`), newest first."""
        rows = self.db.execute("SELECT kit, type, at, data FROM events WHERE topic = 'downlink'"
                               " ORDER BY at DESC, id DESC LIMIT ?", (limit,))
        return [{"kit": row["kit"], "outcome": row["type"].removeprefix("downlink."), "at": row["at"],
                 **json.loads(row["data"])} for row in rows]

    def thread(self, kit: str, case_id: int) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT type, at, data FROM events WHERE kit = ? AND topic = 'cases'"
                               " AND type LIKE 'message.%' ORDER BY at, seq", (kit,))
        out = []
        for row in rows:
            data = json.loads(row["data"])
            if data.get("case") == case_id:
                out.append({"direction": row["type"][len("message."):], "at": row["at"], "text": data.get("text")})
        return out


def _fleet_case(row: sqlite3.Row) -> FleetCase:
    return FleetCase(row["kit"], row["case_id"], row["sender"], row["status"], row["priority"],
                     bool(row["emergency"]), row["category"], row["location"], row["lat"], row["lon"],
                     row["opened_at"], row["updated_at"], row["messages_in"], row["messages_out"])
