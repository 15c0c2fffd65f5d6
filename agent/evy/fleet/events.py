"""The fleet wire format, declared once: topics `evy/v1/<kit>/<topic>` and one compact JSON object per
event (docs/fleet-schema.json describes it; a test holds the two together).

    {"v":1,"id":"kit-03:42","kit":"kit-03","seq":42,"type":"case.opened","at":1765100000.5,"prio":1,"data":{...}}

``id`` is the kit and its event number: a receiver stores an id once, so a duplicate (a republish after a
lost PUBACK or a restart) is harmless.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from evy.errors import EvyError

KIT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # an MQTT topic level: no "/", "+" or "#"
VERSION = 1
PREFIX = f"evy/v{VERSION}"
TOPICS = ("cases", "health", "metrics", "downlink")
# Each event type and the topic it travels on (downlink.*: what a kit made of the cell's signed messages).
TOPIC_OF = {"case.opened": "cases", "case.updated": "cases", "case.status": "cases", "case.location": "cases",
            "message.in": "cases", "message.out": "cases", "health": "health", "metrics": "metrics",
            "downlink.applied": "downlink", "downlink.refused": "downlink"}
TYPES = tuple(TOPIC_OF)
MAX_SEQ = 2**63 - 1  # SQLite's AUTOINCREMENT ceiling; a database cannot store a larger one
# A kit with a backhaul publishes a mesh neighbour's events under its own prefix (the broker's ACL lets a kit
# write evy/v1/<itself>/# only): evy/v1/<relay>/relayed/<origin>/<topic>, the payload as the origin made it.
RELAYED = "relayed"
# One filter per uplink topic, not evy/v1/+/#: that would also match the cell's own downlink messages.
SUBSCRIPTION = [(f"{PREFIX}/+/{topic}", 1) for topic in TOPICS] + [(f"{PREFIX}/+/{RELAYED}/#", 1)]


class BadEvent(EvyError, ValueError):
    """A fleet message that is not a valid v1 event; the message says which field."""


@dataclass(frozen=True)
class Event:
    kit: str
    seq: int
    topic: str
    type: str
    at: float
    priority: int
    data: dict[str, Any]
    via: str | None = None  # the kit that published it for the origin (mesh hand-off), None: the kit itself

    @property
    def id(self) -> str:
        return f"{self.kit}:{self.seq}"


def topic_for(kit: str, topic: str) -> str:
    return f"{PREFIX}/{kit}/{topic}"


def relayed_topic_for(relay: str, origin: str, topic: str) -> str:
    return f"{PREFIX}/{relay}/{RELAYED}/{origin}/{topic}"


def topic_of_type(type_: str) -> str:
    """The topic an event of this type goes on."""
    return type_ if type_ in ("health", "metrics") else "cases"


def encode(event: Event) -> bytes:
    body = {"v": VERSION, "id": event.id, "kit": event.kit, "seq": event.seq, "type": event.type, "at": event.at,
            "prio": event.priority, "data": event.data}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def encode_stored(kit: str, seq: int, type_: str, at: float, priority: int, data_json: str) -> bytes:
    """The wire form of a queued event, its data already compact JSON in the store (not parsed again)."""
    head = json.dumps({"v": VERSION, "id": f"{kit}:{seq}", "kit": kit, "seq": seq, "type": type_, "at": at,
                       "prio": priority}, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return f'{head[:-1]},"data":{data_json}}}'.encode()


def _finite(number: int | float) -> bool:
    """A finite float; an integer too large for a float (JSON allows any number of digits) is not."""
    try:
        return math.isfinite(number)
    except OverflowError:
        return False


def decode(topic: str, payload: bytes) -> Event:
    """The event a fleet message carries; BadEvent naming the first thing wrong."""
    parts = topic.split("/")
    relayed = len(parts) == 6 and parts[3] == RELAYED
    if not (len(parts) == 4 or relayed) or "/".join(parts[:2]) != PREFIX:
        raise BadEvent(f"topic {topic!r} is not {PREFIX}/<kit>/<topic> or {PREFIX}/<kit>/{RELAYED}/<origin>/<topic>")
    via = parts[2] if relayed else None
    kit, name = parts[-2], parts[-1]
    for level in filter(None, (via, kit)):
        if not KIT_ID.fullmatch(level):
            raise BadEvent(f"topic {topic!r}: kit id {level!r} is not 1-64 letters, digits, '-' or '_'")
    if via == kit:
        raise BadEvent(f"topic {topic!r}: a kit relays only other kits' events")
    if name not in TOPICS:
        raise BadEvent(f"topic {topic!r}: unknown topic {name!r} (have {', '.join(TOPICS)})")
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadEvent(f"{topic}: payload is not JSON ({exc})") from None
    except RecursionError:
        raise BadEvent(f"{topic}: payload is JSON nested too deep to read") from None
    if not isinstance(body, dict):
        raise BadEvent(f"{topic}: payload is not a JSON object")
    if body.get("v") != VERSION:
        raise BadEvent(f"{topic}: version {body.get('v')!r}, expected {VERSION}")
    if body.get("kit") != kit:
        raise BadEvent(f"{topic}: kit {body.get('kit')!r} differs from the topic's {kit!r}")
    seq = body.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= MAX_SEQ:
        raise BadEvent(f"{topic}: seq {seq!r} is not a positive 64-bit integer")
    if body.get("id") != f"{kit}:{seq}":
        raise BadEvent(f"{topic}: id {body.get('id')!r} is not {kit}:{seq}")
    type_ = body.get("type")
    if TOPIC_OF.get(type_) != name:
        raise BadEvent(f"{topic}: type {type_!r} does not belong on topic {name!r}")
    at, priority = body.get("at"), body.get("prio")
    if isinstance(at, bool) or not isinstance(at, int | float) or not _finite(at):
        raise BadEvent(f"{topic}: at {at!r} is not a time")
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 9:
        raise BadEvent(f"{topic}: prio {priority!r} is not 0-9")
    data = body.get("data")
    if not isinstance(data, dict):
        raise BadEvent(f"{topic}: data is not a JSON object")
    return Event(kit, seq, name, type_, float(at), priority, data, via)
