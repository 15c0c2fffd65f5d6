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
    Int32sl,
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
# seconds: how long the asking kit waits; the big node's answer must reach it within them
OFFLOAD_REQUEST_BODY = Struct("max_chars" / Int16ul, "seconds" / Int8ul, "text" / GreedyString("utf8"))
OFFLOAD_RESPONSE_BODY = Struct("request_id" / Int32ul, "text" / GreedyString("utf8"))
NO_COORDINATE = -0x80000000  # latitude/longitude unknown; otherwise 1e-5 degrees (about a metre)
NO_PEOPLE = 255
CASE_HANDOVER_BODY = Struct(
    "case_code" / PascalString(Int8ul, "utf8"),
    "sender" / PascalString(Int8ul, "utf8"),
    "category" / PascalString(Int8ul, "utf8"),
    "language" / PascalString(Int8ul, "utf8"),
    "priority" / Int8ul,
    "flags" / BitStruct("opted_out" / Flag, "_" / BitsInteger(7)),
    "people" / Int8ul,
    "latitude" / Int32sl,
    "longitude" / Int32sl,
    "location" / PascalString(Int8ul, "utf8"),
    "messages" / PrefixedArray(Int8ul, Struct("at" / Int32ul, "text" / PascalString(Int16ul, "utf8"))),
)
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


@dataclass(frozen=True)
class CaseHandover:
    """A case an operator hands to a kit nearer its sender: who, what, where, and their latest messages
    (``(unix seconds, text)``, oldest first). Coordinates travel in 1e-5 degrees."""

    case_code: str  # the case's code on the kit that hands it over
    sender: str
    category: str = ""
    language: str = "en"
    priority: int = 3
    people: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    location: str = ""
    messages: tuple[tuple[int, str], ...] = ()
    opted_out: bool = False  # the sender texted STOP to the kit handing it over: no SMS to them
    kind = Kind.CASE_HANDOVER


def _coordinate(value: float | None) -> int:
    return NO_COORDINATE if value is None else round(value * 100_000)


def _degrees(value: int) -> float | None:
    return None if value == NO_COORDINATE else value / 100_000


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


Body = Ack | SmsRelay | Alert | Beacon | OffloadRequest | OffloadResponse | UplinkHandoff | UplinkAck | CaseHandover


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
                return OFFLOAD_REQUEST_BODY.build({"max_chars": message.max_chars, "seconds": message.seconds,
                                                   "text": message.text})
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
            case CaseHandover():
                if message.people is not None and not 0 <= message.people < NO_PEOPLE:
                    raise ConstructError(f"people {message.people} is not 0..{NO_PEOPLE - 1}")
                return CASE_HANDOVER_BODY.build({
                    "case_code": message.case_code, "sender": message.sender, "category": message.category,
                    "language": message.language, "priority": message.priority,
                    "flags": {"opted_out": message.opted_out, "_": 0},
                    "people": NO_PEOPLE if message.people is None else message.people,
                    "latitude": _coordinate(message.latitude), "longitude": _coordinate(message.longitude),
                    "location": message.location,
                    "messages": [{"at": at, "text": text} for at, text in message.messages]})
    except (ConstructError, ValueError, OverflowError) as exc:  # UnicodeError is a ValueError
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
                return OffloadRequest(f.text, f.max_chars, f.seconds)
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
            case Kind.CASE_HANDOVER:
                f = CASE_HANDOVER_BODY.parse(body)
                return CaseHandover(f.case_code, f.sender, f.category, f.language, f.priority,
                                    None if f.people == NO_PEOPLE else f.people, _degrees(f.latitude),
                                    _degrees(f.longitude), f.location,
                                    tuple((m.at, m.text) for m in f.messages), f.flags.opted_out)
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
