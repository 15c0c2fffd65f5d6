"""Settings of the fleet uplink ([fleet]) and the coordination cell ([hq]): the broker both talk to, the
kit's name in the fleet, and what an expensive link may carry."""

from pathlib import Path
from typing import Any

from evy.config.schema import BadValue, Setting, boolean, integer, number, optional_path, optional_string, path, string
from evy.fleet.events import KIT_ID


def kit_id(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not KIT_ID.fullmatch(value):
        raise BadValue(f"expected 1-64 letters, digits, '-' or '_' (it is an MQTT topic level), got {value!r}")
    return value


kit_id.__doc__ = "1-64 letters, digits, `-` or `_`"


def database_location(value: Any) -> Path | str:
    """A SQLite file, or a PostgreSQL URL (kept as text: it is handed to psycopg as written)."""
    text = string(value)
    if text.startswith(("postgresql://", "postgres://")):
        return text
    if "://" in text:
        raise BadValue(f"expected a file path or a postgresql:// URL, got {text.split('://')[0]}://")
    return path(text)


database_location.__doc__ = "file path, or `postgresql://user@host/db` URL"

SETTINGS = [
    Setting("fleet.enabled", boolean, False,
            "Queue case events, health and metrics for a coordination cell and publish them to the broker "
            "whenever a backhaul is up."),
    Setting("fleet.kit_id", kit_id, None,
            "This kit's name in the fleet: MQTT client id and topic level. Unset: `kit-` and the mesh node id, "
            "else the host name.", example="kit-turkana-03"),
    Setting("fleet.broker_host", optional_string, None, "The MQTT broker (Mosquitto) of the coordination cell.",
            example="hq.example.org"),
    Setting("fleet.broker_port", integer(1, 65535), 8883, "Broker port (8883: MQTT over TLS)."),
    Setting("fleet.tls", boolean, True, "Talk TLS to the broker (off only on a trusted local network)."),
    Setting("fleet.ca_file", optional_path, None,
            "CA certificate the broker's certificate must chain to; unset: the system's CAs.",
            example="/etc/evy/fleet-ca.pem"),
    Setting("fleet.credentials_file", optional_path, None,
            "File holding this kit's broker login as one line `username:password` (written from the seed).",
            example="/var/lib/evy/fleet-credentials"),
    Setting("fleet.max_bytes_per_second", number(0, 10_000_000), 0.0,
            "Bandwidth cap of the uplink in bytes per second (payload and topic); 0: no cap. Set it on a "
            "satellite link."),
    Setting("fleet.health_interval", number(30, 86400), 900.0, "Seconds between kit health snapshots sent."),
    Setting("fleet.metrics_interval", number(30, 86400), 3600.0, "Seconds between metrics snapshots sent."),
    Setting("fleet.keepalive", integer(5, 3600), 60, "MQTT keepalive in seconds: how soon a dead link is noticed."),
    Setting("fleet.max_in_flight", integer(1, 1000), 20, "Events published and not yet acknowledged, at most."),
    Setting("fleet.handoff", boolean, True,
            "While the kit's own link to the broker is down, hand queued case events over the LoRa mesh to a "
            "neighbour whose beacon reports a fleet backhaul; while it is up, publish such neighbours' events."),
    Setting("fleet.handoff_timeout", number(5, 86400), 300.0,
            "Seconds a hand-off waits for the neighbour's end-to-end acknowledgement (the broker's PUBACK) before "
            "its events may go again (a duplicate at worst)."),
    Setting("fleet.handoff_airtime_share", number(0, 1), 0.25,
            "Share of the mesh's legal airtime allowance that routine hand-offs may fill; emergency events may "
            "use whatever the duty cycle allows."),
    Setting("hq.database", database_location, "/var/lib/evy/hq.sqlite",
            "The coordination cell's database of every kit's events: a SQLite file, or for a large deployment a "
            "PostgreSQL URL (needs psycopg; the password is better in ~/.pgpass or PGPASSWORD than here).",
            example="postgresql://evy@db.example.org/evy_hq"),
    Setting("hq.client_id", kit_id, "evy-hq", "The cell's MQTT client id (its persistent session on the broker)."),
    Setting("hq.stale_after", number(60, 30 * 86400), 6 * 3600.0,
            "Seconds without any event after which a kit is listed as stale."),
    Setting("hq.listen", optional_string, "127.0.0.1:8091",
            "Address of the cell's fleet console, `evy hq console` (host:port); empty: no console."),
]
