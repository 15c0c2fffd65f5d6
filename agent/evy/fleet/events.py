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
# One filter per uplink topic, not evy/v1/+/#: that would also match the cell's own downlink messages.
SUBSCRIPTION = [(f"{PREFIX}/+/{topic}", 1) for topic in TOPICS]


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

    @property
    def id(self) -> str:
        return f"{self.kit}:{self.seq}"


def topic_for(kit: str, topic: str) -> str:
    return f"{PREFIX}/{kit}/{topic}"


def encode(event: Event) -> bytes:
    body = {"v": VERSION, "id": event.id, "kit": event.kit, "seq": event.seq, "type": event.type, "at": event.at,
            "prio": event.priority, "data": event.data}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def encode_stored(kit: str, seq: int, type_: str, at: float, priority: int, data_json: str) -> bytes:
    """The wire form of a queued event, its data already compact JSON in the store (not parsed again)."""
    head = json.dumps({"v": VERSION, "id": f"{kit}:{seq}", "kit": kit, "seq": seq, "type": type_, "at": at,
                       "prio": priority}, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return f'{head[:-1]},"data":{data_json}}}'.encode()


def decode(topic: str, payload: bytes) -> Event:
    """The event a fleet message carries; BadEvent naming the first thing wrong."""
    parts = topic.split("/")
    if len(parts) != 4 or "/".join(parts[:2]) != PREFIX:
        raise BadEvent(f"topic {topic!r} is not {PREFIX}/<kit>/<topic>")
    kit, name = parts[2], parts[3]
    if not KIT_ID.fullmatch(kit):
        raise BadEvent(f"topic {topic!r}: kit id {kit!r} is not 1-64 letters, digits, '-' or '_'")
    if name not in TOPICS:
        raise BadEvent(f"topic {topic!r}: unknown topic {name!r} (have {', '.join(TOPICS)})")
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadEvent(f"{topic}: payload is not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise BadEvent(f"{topic}: payload is not a JSON object")
    if body.get("v") != VERSION:
        raise BadEvent(f"{topic}: version {body.get('v')!r}, expected {VERSION}")
    if body.get("kit") != kit:
        raise BadEvent(f"{topic}: kit {body.get('kit')!r} differs from the topic's {kit!r}")
    seq = body.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise BadEvent(f"{topic}: seq {seq!r} is not a positive integer")
    if body.get("id") != f"{kit}:{seq}":
        raise BadEvent(f"{topic}: id {body.get('id')!r} is not {kit}:{seq}")
    type_ = body.get("type")
    if TOPIC_OF.get(type_) != name:
        raise BadEvent(f"{topic}: type {type_!r} does not belong on topic {name!r}")
    at, priority = body.get("at"), body.get("prio")
    if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at):
        raise BadEvent(f"{topic}: at {at!r} is not a time")
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 9:
        raise BadEvent(f"{topic}: prio {priority!r} is not 0-9")
    data = body.get("data")
    if not isinstance(data, dict):
        raise BadEvent(f"{topic}: data is not a JSON object")
    return Event(kit, seq, name, type_, float(at), priority, data)
