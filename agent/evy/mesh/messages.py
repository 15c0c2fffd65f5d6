"""What travels inside a frame: one construct declaration per message kind, and fragmentation.

A message body longer than one frame is split into up to 15 fragments that share the message id; the
receiver reassembles them in any order and delivers the message once.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from construct import (
    BitsInteger,
    BitStruct,
    ConstructError,
    Flag,
    Float64l,
    GreedyString,
    Int8ul,
    Int16ul,
    Int32ul,
    PascalString,
    PrefixedArray,
    Struct,
)

from evy.mesh.errors import MalformedFrame, PayloadTooLarge
from evy.mesh.frames import MAX_BODY, MAX_FRAGMENTS, Kind

ACK_BODY = Struct("message_id" / Int32ul, "fragment" / Int8ul)
SMS_RELAY_BODY = Struct("number" / PascalString(Int8ul, "utf8"), "text" / GreedyString("utf8"))
ALERT_BODY = Struct("severity" / Int8ul, "text" / GreedyString("utf8"))
BEACON_BODY = Struct(
    "battery_pct" / Int8ul,  # 255 = unknown (mains or no gauge)
    # backhaul: this kit's fleet uplink reaches the broker now (it takes other kits' events, UplinkHandoff)
    "flags" / BitStruct("charging" / Flag, "cellular" / Flag, "big_model" / Flag, "backhaul" / Flag,
                        "_" / BitsInteger(4)),
    "queue_depth" / Int16ul,
    "neighbours" / Int8ul,
)
OFFLOAD_REQUEST_BODY = Struct("max_chars" / Int16ul, "text" / GreedyString("utf8"))
OFFLOAD_RESPONSE_BODY = Struct("request_id" / Int32ul, "text" / GreedyString("utf8"))
# An uplink hand-off travels deflated (raw zlib): its JSON repeats field names the radio should not pay for.
HANDED_EVENT = Struct("seq" / Int32ul, "type" / PascalString(Int8ul, "utf8"), "priority" / Int8ul,
                      "at" / Float64l, "data" / PascalString(Int16ul, "utf8"))
UPLINK_HANDOFF_BODY = Struct("origin" / PascalString(Int8ul, "utf8"), "events" / PrefixedArray(Int8ul, HANDED_EVENT))
UPLINK_ACK_BODY = Struct("origin" / PascalString(Int8ul, "utf8"), "seqs" / PrefixedArray(Int8ul, Int32ul))
MAX_INFLATED = 16384  # a hand-off body inflates to at most this (15 full fragments of JSON fit well within)


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
    backhaul: bool = False  # the fleet broker is reachable from this kit now
    kind = Kind.BEACON


@dataclass(frozen=True)
class OffloadRequest:
    """Ask a node with a bigger model to answer ``text`` in at most ``max_chars`` characters."""

    text: str
    max_chars: int = 459
    kind = Kind.OFFLOAD_REQUEST


@dataclass(frozen=True)
class OffloadResponse:
    request_id: int
    text: str
    kind = Kind.OFFLOAD_RESPONSE


@dataclass(frozen=True)
class HandedEvent:
    """One queued fleet event as the origin kit stored it (``data`` is its compact JSON)."""

    seq: int
    type: str
    priority: int
    at: float
    data: str


@dataclass(frozen=True)
class UplinkHandoff:
    """Fleet events of kit ``origin`` (its fleet id) for a neighbour with a backhaul to publish."""

    origin: str
    events: tuple[HandedEvent, ...]
    kind = Kind.UPLINK_HANDOFF


@dataclass(frozen=True)
class UplinkAck:
    """The broker acknowledged these events of ``origin``: the origin may delete them from its queue."""

    origin: str
    seqs: tuple[int, ...]
    kind = Kind.UPLINK_ACK


Body = Ack | SmsRelay | Alert | Beacon | OffloadRequest | OffloadResponse | UplinkHandoff | UplinkAck


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
                              "big_model": message.big_model, "backhaul": message.backhaul, "_": 0}})
            case OffloadRequest():
                return OFFLOAD_REQUEST_BODY.build({"max_chars": message.max_chars, "text": message.text})
            case OffloadResponse():
                return OFFLOAD_RESPONSE_BODY.build({"request_id": message.request_id, "text": message.text})
            case UplinkHandoff():
                plain = UPLINK_HANDOFF_BODY.build({"origin": message.origin, "events": [
                    {"seq": e.seq, "type": e.type, "priority": e.priority, "at": e.at, "data": e.data}
                    for e in message.events]})
                deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
                return deflate.compress(plain) + deflate.flush()
            case UplinkAck():
                return UPLINK_ACK_BODY.build({"origin": message.origin, "seqs": list(message.seqs)})
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
                              f.flags.charging, f.neighbours, f.flags.backhaul)
            case Kind.OFFLOAD_REQUEST:
                f = OFFLOAD_REQUEST_BODY.parse(body)
                return OffloadRequest(f.text, f.max_chars)
            case Kind.OFFLOAD_RESPONSE:
                f = OFFLOAD_RESPONSE_BODY.parse(body)
                return OffloadResponse(f.request_id, f.text)
            case Kind.UPLINK_HANDOFF:
                f = UPLINK_HANDOFF_BODY.parse(_inflated(body))
                return UplinkHandoff(f.origin, tuple(HandedEvent(e.seq, e.type, e.priority, e.at, e.data)
                                                     for e in f.events))
            case Kind.UPLINK_ACK:
                f = UPLINK_ACK_BODY.parse(body)
                return UplinkAck(f.origin, tuple(f.seqs))
    except (ConstructError, UnicodeError) as exc:
        raise MalformedFrame(f"{kind.name.lower()} body does not parse: {str(exc).splitlines()[0]}") from None
    raise MalformedFrame(f"unknown kind {kind}")


def _inflated(body: bytes) -> bytes:
    inflate = zlib.decompressobj(-15)
    try:
        plain = inflate.decompress(body, MAX_INFLATED)
    except zlib.error as exc:
        raise MalformedFrame(f"uplink_handoff body does not inflate: {exc}") from None
    if not inflate.eof or inflate.unconsumed_tail or inflate.unused_data:
        raise MalformedFrame(f"uplink_handoff body is truncated, trailed or inflates past {MAX_INFLATED} bytes")
    return plain


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
