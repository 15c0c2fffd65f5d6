"""What travels inside a frame: one construct declaration per message kind, and fragmentation.

A message body longer than one frame is split into up to 15 fragments that share the message id; the
receiver reassembles them in any order and delivers the message once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from construct import (
    BitsInteger,
    BitStruct,
    ConstructError,
    Flag,
    GreedyString,
    Int8ul,
    Int16ul,
    Int32ul,
    PascalString,
    Struct,
)

from evy.mesh.errors import MalformedFrame, PayloadTooLarge
from evy.mesh.frames import MAX_BODY, MAX_FRAGMENTS, Kind

ACK_BODY = Struct("message_id" / Int32ul, "fragment" / Int8ul)
SMS_RELAY_BODY = Struct("number" / PascalString(Int8ul, "utf8"), "text" / GreedyString("utf8"))
ALERT_BODY = Struct("severity" / Int8ul, "text" / GreedyString("utf8"))
BEACON_BODY = Struct(
    "battery_pct" / Int8ul,  # 255 = unknown (mains or no gauge)
    "flags" / BitStruct("charging" / Flag, "cellular" / Flag, "big_model" / Flag, "_" / BitsInteger(5)),
    "queue_depth" / Int16ul,
    "neighbours" / Int8ul,
)
# seconds: how long the asking kit waits; the big node's answer must reach it within them
OFFLOAD_REQUEST_BODY = Struct("max_chars" / Int16ul, "seconds" / Int8ul, "text" / GreedyString("utf8"))
OFFLOAD_RESPONSE_BODY = Struct("request_id" / Int32ul, "text" / GreedyString("utf8"))


@dataclass(frozen=True)
class Ack:
    message_id: int
    fragment: int
    kind = Kind.ACK


@dataclass(frozen=True)
class SmsRelay:
    """A reply a kit without coverage hands to a kit with a modem, which sends it as an SMS."""

    number: str
    text: str
    kind = Kind.SMS_RELAY


@dataclass(frozen=True)
class Alert:
    severity: int  # 0 info … 3 life-threatening
    text: str
    kind = Kind.ALERT


@dataclass(frozen=True)
class Beacon:
    battery_pct: int
    queue_depth: int
    cellular: bool
    big_model: bool = False
    charging: bool = False
    neighbours: int = 0
    kind = Kind.BEACON


@dataclass(frozen=True)
class OffloadRequest:
    """Ask a node with a bigger model to answer ``text`` in at most ``max_chars`` characters, within
    ``seconds`` (the asking kit's follow-up deadline, 1-255). Never sent for an emergency."""

    text: str
    max_chars: int = 459
    seconds: int = 20
    kind = Kind.OFFLOAD_REQUEST


@dataclass(frozen=True)
class OffloadResponse:
    request_id: int
    text: str
    kind = Kind.OFFLOAD_RESPONSE


Body = Ack | SmsRelay | Alert | Beacon | OffloadRequest | OffloadResponse


def encode(message: Body) -> bytes:
    try:
        match message:
            case Ack():
                return ACK_BODY.build({"message_id": message.message_id, "fragment": message.fragment})
            case SmsRelay():
                return SMS_RELAY_BODY.build({"number": message.number, "text": message.text})
            case Alert():
                return ALERT_BODY.build({"severity": message.severity, "text": message.text})
            case Beacon():
                return BEACON_BODY.build({
                    "battery_pct": message.battery_pct, "queue_depth": min(message.queue_depth, 0xFFFF),
                    "neighbours": min(message.neighbours, 255),
                    "flags": {"charging": message.charging, "cellular": message.cellular,
                              "big_model": message.big_model, "_": 0}})
            case OffloadRequest():
                return OFFLOAD_REQUEST_BODY.build({"max_chars": message.max_chars, "seconds": message.seconds,
                                                   "text": message.text})
            case OffloadResponse():
                return OFFLOAD_RESPONSE_BODY.build({"request_id": message.request_id, "text": message.text})
    except (ConstructError, UnicodeError) as exc:
        raise PayloadTooLarge(f"cannot encode {type(message).__name__}: {exc}") from None
    raise TypeError(f"not a mesh message: {message!r}")


def decode(kind: Kind, body: bytes) -> Body:
    """The typed message; raises :class:`MalformedFrame` for a body that does not parse."""
    try:
        match kind:
            case Kind.ACK:
                f = ACK_BODY.parse(body)
                return Ack(f.message_id, f.fragment)
            case Kind.SMS_RELAY:
                f = SMS_RELAY_BODY.parse(body)
                return SmsRelay(f.number, f.text)
            case Kind.ALERT:
                f = ALERT_BODY.parse(body)
                return Alert(f.severity, f.text)
            case Kind.BEACON:
                f = BEACON_BODY.parse(body)
                return Beacon(f.battery_pct, f.queue_depth, f.flags.cellular, f.flags.big_model,
                              f.flags.charging, f.neighbours)
            case Kind.OFFLOAD_REQUEST:
                f = OFFLOAD_REQUEST_BODY.parse(body)
                return OffloadRequest(f.text, f.max_chars, f.seconds)
            case Kind.OFFLOAD_RESPONSE:
                f = OFFLOAD_RESPONSE_BODY.parse(body)
                return OffloadResponse(f.request_id, f.text)
    except (ConstructError, UnicodeError) as exc:
        raise MalformedFrame(f"{kind.name.lower()} body does not parse: {str(exc).splitlines()[0]}") from None
    raise MalformedFrame(f"unknown kind {kind}")


def split(body: bytes, chunk: int = MAX_BODY) -> list[bytes]:
    """Fragments of at most ``chunk`` bytes (an empty body is one empty fragment)."""
    parts = [body[i:i + chunk] for i in range(0, len(body), chunk)] or [b""]
    if len(parts) > MAX_FRAGMENTS:
        raise PayloadTooLarge(f"message of {len(body)} bytes needs {len(parts)} fragments; at most "
                              f"{MAX_FRAGMENTS} ({MAX_FRAGMENTS * chunk} bytes)")
    return parts


@dataclass
class _Partial:
    count: int
    first_seen: float
    parts: dict[int, bytes] = field(default_factory=dict)


class Reassembler:
    """Collects fragments per (source, message id); gives the body back once every fragment arrived."""

    def __init__(self, timeout_s: float = 900.0, max_pending: int = 64):
        self.timeout_s = timeout_s
        self.max_pending = max_pending
        self._pending: dict[tuple[int, int], _Partial] = {}

    def add(self, source: int, message_id: int, index: int, count: int, data: bytes, now: float) -> bytes | None:
        self._expire(now)
        if count == 1:
            return data
        key = (source, message_id)
        partial = self._pending.get(key)
        if partial is None or partial.count != count:
            if len(self._pending) >= self.max_pending:  # drop the oldest incomplete message
                del self._pending[min(self._pending, key=lambda k: self._pending[k].first_seen)]
            partial = self._pending[key] = _Partial(count, now)
        partial.parts[index] = data
        if len(partial.parts) < count:
            return None
        del self._pending[key]
        return b"".join(partial.parts[i] for i in range(count))

    def pending(self) -> int:
        return len(self._pending)

    def _expire(self, now: float) -> None:
        for key in [k for k, p in self._pending.items() if now - p.first_seen > self.timeout_s]:
            del self._pending[key]
