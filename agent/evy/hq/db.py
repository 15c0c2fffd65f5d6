"""The coordination cell's database: every kit's fleet events, stored once each, and what they add up to
(the kits with their latest health, every case on one board, people linked across kits by number), plus
what the fleet console keeps (kit groups, downlink requests, its audit log).

Idempotent by construction: the event id is the primary key, and an event changes the board only in the
transaction that first stores it. Events may arrive in any order (the kit drains emergencies first): a case
row takes a case event's fields only when that event is newer (higher seq) than the one it holds.

SQLite by default, PostgreSQL when ``hq.database`` is a URL (:mod:`evy.hq.backend`): the same statements
on both (portable upserts; no two-argument MAX, a CASE instead).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evy.fleet.events import Event
from evy.hq.backend import Backend, EventNotApplied, HqError, event_faults, is_postgres, open_backend, redacted

__all__ = ["EventNotApplied", "FleetCase", "HqDatabase", "HqError"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id          TEXT PRIMARY KEY,           -- kit:seq
    kit         TEXT    NOT NULL,
    seq         BIGINT  NOT NULL,
    topic       TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    at          DOUBLE PRECISION NOT NULL,  -- when it happened on the kit
    priority    INTEGER NOT NULL,
    data        TEXT    NOT NULL,
    received_at DOUBLE PRECISION NOT NULL,  -- when the cell stored it
    via         TEXT                        -- the kit that relayed it (mesh hand-off); NULL: the kit itself
);
CREATE INDEX IF NOT EXISTS events_kit ON events (kit, seq);
CREATE TABLE IF NOT EXISTS kits (
    kit        TEXT PRIMARY KEY,
    first_seen DOUBLE PRECISION NOT NULL,
    last_seen  DOUBLE PRECISION NOT NULL,
    events     BIGINT NOT NULL DEFAULT 0,
    health     TEXT,
    health_at  DOUBLE PRECISION,
    metrics    TEXT,
    metrics_at DOUBLE PRECISION
);
CREATE TABLE IF NOT EXISTS cases (
    kit          TEXT    NOT NULL,
    case_id      BIGINT  NOT NULL,
    sender       TEXT    NOT NULL,
    opened_at    DOUBLE PRECISION,
    updated_at   DOUBLE PRECISION,
    status       TEXT    NOT NULL DEFAULT 'new',
    language     TEXT,
    category     TEXT,
    topic        TEXT,
    priority     INTEGER NOT NULL DEFAULT 3,
    emergency    INTEGER NOT NULL DEFAULT 0,
    location     TEXT,
    lat          DOUBLE PRECISION,
    lon          DOUBLE PRECISION,
    people       BIGINT,
    last_seq     BIGINT  NOT NULL DEFAULT 0, -- the case event its fields come from
    messages_in  BIGINT  NOT NULL DEFAULT 0,
    messages_out BIGINT  NOT NULL DEFAULT 0,
    last_message_at DOUBLE PRECISION,
    PRIMARY KEY (kit, case_id)
);
CREATE INDEX IF NOT EXISTS cases_sender ON cases (sender);
CREATE TABLE IF NOT EXISTS rejected (
    id          {serial},
    topic       TEXT NOT NULL,
    payload     {bytes} NOT NULL,
    reason      TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS kit_groups (
    name TEXT NOT NULL,
    kit  TEXT NOT NULL,
    PRIMARY KEY (name, kit)
);
CREATE TABLE IF NOT EXISTS downlink (
    id           {serial},
    key          TEXT UNIQUE,                -- the console form's one-time key: a second click sends nothing
    kind         TEXT NOT NULL,
    target       TEXT NOT NULL,              -- kit:<id>, group:<name> or all
    payload      TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS downlink_messages (
    request      BIGINT NOT NULL,
    topic        TEXT NOT NULL,              -- evy/v1/<kit or all>/down/<kind>
    body         TEXT NOT NULL,
    published_at DOUBLE PRECISION,           -- the broker's PUBACK; NULL: still to publish
    PRIMARY KEY (request, topic)
);
CREATE TABLE IF NOT EXISTS audit (
    id      {serial},
    at      DOUBLE PRECISION NOT NULL,
    actor   TEXT NOT NULL,
    address TEXT NOT NULL,
    action  TEXT NOT NULL,
    detail  TEXT NOT NULL
);
"""

CASE_TEXT_FIELDS = ("status", "language", "category", "topic", "location")
CASE_FIELDS = ("sender", "opened_at", *CASE_TEXT_FIELDS, "priority", "emergency", "lat", "lon", "people")
BIGGEST = 2**63 - 1  # both databases' 64-bit integers
OPEN = ("new", "acknowledged", "dispatched")


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
    people: int | None = None
    last_message_at: float | None = None


# -- an event's fields as the columns hold them. A kit's event is trusted for nothing: a wrong type, a lone
# surrogate or a NUL would make the write fail, and a write that fails is retried for ever (the broker
# delivers it again), so a value that does not fit its column is dropped here (the event keeps it as sent).

def text_value(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def integer_value(value: Any, low: int = -BIGGEST, high: int = BIGGEST) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high else None


def number_value(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value) if abs(value) < 1e300 else math.inf
    return number if math.isfinite(number) else None


def case_values(data: dict[str, Any]) -> list[Any]:
    values: dict[str, Any] = {name: text_value(data.get(name)) for name in CASE_TEXT_FIELDS}
    values["sender"] = text_value(data.get("sender")) or ""
    values["status"] = values["status"] or "new"
    values["opened_at"] = number_value(data.get("opened_at"))
    values["priority"] = integer_value(data.get("priority"), 0, 9)
    values["priority"] = 3 if values["priority"] is None else values["priority"]
    values["emergency"] = int(data.get("emergency") is True)
    lat, lon = number_value(data.get("lat")), number_value(data.get("lon"))
    values["lat"] = lat if lat is not None and -90 <= lat <= 90 else None
    values["lon"] = lon if lon is not None and -180 <= lon <= 180 else None
    values["people"] = integer_value(data.get("people"), 0)
    return [values[name] for name in CASE_FIELDS]


class HqDatabase:
    def __init__(self, location: Path | str):
        if isinstance(location, str) and "://" in location and not is_postgres(location):
            raise HqError(f"{redacted(location)}: the cell's database is a file or a postgresql:// URL")
        self.location = location if is_postgres(location) else Path(location)
        self.sql: Backend = open_backend(self.location, SCHEMA)
        self.event_faults = event_faults(self.sql)
        self.sql.add_column("events", "via", "TEXT")  # a database made before the cell kept the relay

    @property
    def path(self) -> Path | str:
        return self.location

    def close(self) -> None:
        self.sql.close()

    def __enter__(self) -> HqDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes ------------------------------------------------------------------------------------------
    def ingest(self, event: Event, received_at: float) -> bool:
        """Store an event and apply it to the board; False (and nothing changes) when it was stored before.
        EventNotApplied (and nothing changes) when the event's own contents cannot be stored."""
        try:
            return self._ingest(event, received_at)
        except self.event_faults as exc:
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
            raise EventNotApplied(f"event {event.id} cannot be applied: {reason}") from exc

    def _ingest(self, event: Event, received_at: float) -> bool:
        sql = self.sql
        with sql.transaction():
            stored = sql.execute(
                "INSERT INTO events(id, kit, seq, topic, type, at, priority, data, received_at, via)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
                (event.id, event.kit, event.seq, event.topic, event.type, event.at, event.priority,
                 json.dumps(event.data, separators=(",", ":")), received_at, event.via)) == 1
            if stored:
                self._apply(event, received_at)
        return stored

    def _apply(self, event: Event, received_at: float) -> None:
        sql, data = self.sql, event.data
        sql.execute("INSERT INTO kits(kit, first_seen, last_seen, events) VALUES (?, ?, ?, 1) ON CONFLICT(kit)"
                    " DO UPDATE SET events = kits.events + 1, last_seen = CASE WHEN excluded.last_seen >"
                    " kits.last_seen THEN excluded.last_seen ELSE kits.last_seen END",
                    (event.kit, received_at, received_at))
        if event.type in ("health", "metrics"):
            sql.execute(f"UPDATE kits SET {event.type} = ?, {event.type}_at = ? WHERE kit = ?"
                        f" AND ({event.type}_at IS NULL OR {event.type}_at <= ?)",
                        (json.dumps(data, separators=(",", ":")), event.at, event.kit, event.at))
            return
        case_id = integer_value(data.get("case"))
        if case_id is None:
            return  # a reply whose message had no case: kept in events only
        if event.type.startswith("case."):
            updates = ", ".join(f"{name} = excluded.{name}" for name in (*CASE_FIELDS, "updated_at", "last_seq"))
            sql.execute(
                f"INSERT INTO cases(kit, case_id, {', '.join(CASE_FIELDS)}, updated_at, last_seq)"
                f" VALUES (?, ?, {', '.join('?' * len(CASE_FIELDS))}, ?, ?) ON CONFLICT(kit, case_id)"
                f" DO UPDATE SET {updates} WHERE excluded.last_seq > cases.last_seq",
                (event.kit, case_id, *case_values(data), event.at, event.seq))
            return
        column = "messages_in" if event.type == "message.in" else "messages_out"
        party = text_value(data.get("sender") if event.type == "message.in" else data.get("recipient"))
        sql.execute(f"INSERT INTO cases(kit, case_id, sender, {column}, last_message_at) VALUES (?, ?, ?, 1, ?)"
                    f" ON CONFLICT(kit, case_id) DO UPDATE SET {column} = cases.{column} + 1,"
                    " last_message_at = CASE WHEN cases.last_message_at IS NULL OR excluded.last_message_at >"
                    " cases.last_message_at THEN excluded.last_message_at ELSE cases.last_message_at END",
                    (event.kit, case_id, party or "", event.at))

    def reject(self, topic: str, payload: bytes, reason: str, received_at: float) -> None:
        """Keep a message that is not a valid event, raw, for a human (it is acknowledged, never retried)."""
        self.sql.execute("INSERT INTO rejected(topic, payload, reason, received_at) VALUES (?, ?, ?, ?)",
                         (text_value(topic) or "", bytes(payload), text_value(reason) or "", received_at))

    # -- reads ---------------------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        one = self.sql.scalar
        return {"events": one("SELECT COUNT(*) FROM events"), "kits": one("SELECT COUNT(*) FROM kits"),
                "cases": one("SELECT COUNT(*) FROM cases"), "rejected": one("SELECT COUNT(*) FROM rejected")}

    def case_event_count(self) -> int:
        return self.sql.scalar("SELECT COUNT(*) FROM events WHERE topic = 'cases'")

    def duplicates_stored(self) -> int:
        """Rows sharing an id: 0 by construction (the primary key); the scale run checks it all the same."""
        return self.sql.scalar("SELECT COUNT(*) - COUNT(DISTINCT id) FROM events")

    def timings(self) -> list[tuple[str, str, float, float]]:
        """(kit, topic, when it happened on the kit, when the cell stored it) of every event."""
        return [(row["kit"], row["topic"], row["at"], row["received_at"])
                for row in self.sql.rows("SELECT kit, topic, at, received_at FROM events")]

    def event_ids(self) -> set[str]:
        return {row["id"] for row in self.sql.rows("SELECT id FROM events")}

    def rejected(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Messages kept in `rejected` (oldest first), or the last ``limit`` of them (newest first)."""
        if limit is None:
            return self.sql.rows("SELECT topic, reason, received_at FROM rejected ORDER BY id")
        return self.sql.rows("SELECT topic, reason, received_at FROM rejected ORDER BY id DESC LIMIT ?", (limit,))

    def kits(self, now: float, stale_after: float) -> list[dict[str, Any]]:
        rows = self.sql.rows("SELECT kit, first_seen, last_seen, events, health, health_at, metrics, metrics_at"
                             " FROM kits ORDER BY kit")
        return [{"kit": row["kit"], "first_seen": row["first_seen"], "last_seen": row["last_seen"],
                 "events": row["events"], "stale": now - row["last_seen"] > stale_after,
                 "health": json.loads(row["health"]) if row["health"] else None, "health_at": row["health_at"],
                 "metrics": json.loads(row["metrics"]) if row["metrics"] else None,
                 "metrics_at": row["metrics_at"]} for row in rows]

    def kit_names(self) -> list[str]:
        return [row["kit"] for row in self.sql.rows("SELECT kit FROM kits ORDER BY kit")]

    def board(self, limit: int = 1000, *, kits: list[str] | None = None, statuses: list[str] | None = None,
              category: str | None = None, since: float | None = None) -> list[FleetCase]:
        """Every kit's cases (or those matching the filters), open ones first, most urgent first, then oldest."""
        where, params = _board_filters(kits, statuses, category, since)
        rows = self.sql.rows(
            f"SELECT * FROM cases{where} ORDER BY status IN ('resolved', 'closed'), priority, opened_at, kit,"
            " case_id LIMIT ?", (*params, limit))
        return [_fleet_case(row) for row in rows]

    def categories(self) -> list[str]:
        return [row["category"] for row in self.sql.rows(
            "SELECT DISTINCT category FROM cases WHERE category IS NOT NULL ORDER BY category")]

    def counts_by_status(self, kits: list[str] | None = None) -> dict[str, int]:
        where, params = _board_filters(kits, None, None, None)
        rows = self.sql.rows(f"SELECT status, COUNT(*) AS n FROM cases{where} GROUP BY status ORDER BY status",
                             params)
        return {row["status"]: row["n"] for row in rows}

    def case(self, kit: str, case_id: int) -> FleetCase | None:
        rows = self.sql.rows("SELECT * FROM cases WHERE kit = ? AND case_id = ?", (kit, case_id))
        return _fleet_case(rows[0]) if rows else None

    def linked(self, sender: str) -> list[FleetCase]:
        """The same person's cases on every kit they texted."""
        rows = self.sql.rows("SELECT * FROM cases WHERE sender = ? ORDER BY opened_at, kit", (sender,))
        return [_fleet_case(row) for row in rows]

    def people_on_several_kits(self) -> list[dict[str, Any]]:
        rows = self.sql.rows("SELECT sender, COUNT(DISTINCT kit) AS kits, COUNT(*) AS cases FROM cases"
                             " WHERE sender <> '' GROUP BY sender HAVING COUNT(DISTINCT kit) > 1 ORDER BY sender")
        return [{"sender": row["sender"], "kits": row["kits"], "cases": row["cases"]} for row in rows]

    def downlink_outcomes(self, limit: int = 50) -> list[dict[str, Any]]:
        """What kits made of the cell's signed messages (`downlink.applied` / `downlink.refused`), newest first."""
        rows = self.sql.rows("SELECT kit, type, at, data FROM events WHERE topic = 'downlink'"
                             " ORDER BY at DESC, id DESC LIMIT ?", (limit,))
        return [{"kit": row["kit"], "outcome": row["type"].removeprefix("downlink."), "at": row["at"],
                 **json.loads(row["data"])} for row in rows]

    def downlink_outcomes_since(self, received_at: float) -> list[dict[str, Any]]:
        """Every kit's `downlink.applied` / `downlink.refused` the cell stored from ``received_at`` on, oldest
        first: kit, outcome, at, and the event's data (digest: the sha256 of the raw message it is about)."""
        rows = self.sql.rows("SELECT kit, type, at, data FROM events WHERE topic = 'downlink' AND received_at >= ?"
                             " ORDER BY at, id", (received_at,))
        return [{**json.loads(row["data"]), "kit": row["kit"], "outcome": row["type"].removeprefix("downlink."),
                 "at": row["at"]} for row in rows]

    def thread(self, kit: str, case_id: int) -> list[dict[str, Any]]:
        rows = self.sql.rows("SELECT type, at, data, via FROM events WHERE kit = ? AND topic = 'cases'"
                             " AND type LIKE 'message.%' ORDER BY at, seq", (kit,))
        out = []
        for row in rows:
            data = json.loads(row["data"])
            if data.get("case") == case_id:
                out.append({"direction": row["type"][len("message."):], "at": row["at"], "text": data.get("text"),
                            "kind": data.get("kind"), "state": data.get("state"), "via": row["via"]})
        return out

    def case_relays(self, kit: str, case_id: int) -> list[str]:
        """The kits that relayed any of this case's events to the cell (mesh hand-off), in name order."""
        rows = self.sql.rows("SELECT via, data FROM events WHERE kit = ? AND topic = 'cases' AND via IS NOT NULL",
                             (kit,))
        return sorted({row["via"] for row in rows if json.loads(row["data"]).get("case") == case_id})

    # -- the console's audit log ----------------------------------------------------------------------------
    def audit(self, *, at: float, actor: str, address: str, action: str, detail: str = "") -> None:
        self.sql.execute("INSERT INTO audit(at, actor, address, action, detail) VALUES (?, ?, ?, ?, ?)",
                         (at, actor, address, action, detail))

    def audit_entries(self, limit: int = 500) -> list[dict[str, Any]]:
        return self.sql.rows("SELECT at, actor, address, action, detail FROM audit ORDER BY id DESC LIMIT ?",
                             (limit,))


def _board_filters(kits: list[str] | None, statuses: list[str] | None, category: str | None,
                   since: float | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, chosen in (("kit", kits), ("status", statuses)):
        if chosen:
            clauses.append(f"{column} IN ({', '.join('?' * len(chosen))})")
            params += chosen
    if category:
        clauses.append("category = ?")
        params.append(category)
    if since is not None:
        clauses.append("COALESCE(updated_at, last_message_at, opened_at, 0) >= ?")
        params.append(since)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _fleet_case(row: dict[str, Any]) -> FleetCase:
    return FleetCase(row["kit"], row["case_id"], row["sender"], row["status"], row["priority"],
                     bool(row["emergency"]), row["category"], row["location"], row["lat"], row["lon"],
                     row["opened_at"], row["updated_at"], row["messages_in"], row["messages_out"], row["people"],
                     row["last_message_at"])
