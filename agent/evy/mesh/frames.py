"""The on-air frame, declared once with construct, sealed with AES-128-CCM.

    offset size  field
         0    1  version (high nibble) | kind (low nibble)
         1    4  destination node (0xFFFFFFFF = everyone)
         5    4  source node
         9    4  packet id (per-source counter, never reused: it is the CCM nonce together with the source)
        13    1  hop start (3 bits) | hop limit (3 bits) | want ack (1 bit) | reserved (1 bit)
        14    1  priority class (0 background, 1 routine, 2 emergency: see ON_AIR)
        15    2  network id hash
        17    1  next hop (last byte of the node that should relay; 0 = flood)
        18    1  relay node (last byte of the node that transmitted this copy)
        19    4  hop tag: HMAC-SHA256 of the whole frame (this field zeroed) under the hop key, truncated
        23    n  ciphertext of the inner part: message id u32, fragment index/count, body
     23+n     8  CCM tag

Everything is little-endian. The header is readable without the key so relays can drop other networks'
frames cheaply. It is authenticated as CCM associated data except the fields relays rewrite (hop limit, next
hop, relay node, hop tag). Those steer routing, so every relay that rewrites them also rewrites the hop tag,
which needs the network key: a node without it cannot change them on a genuine frame (version 1 had no hop
tag, and a forger could re-send a genuine packet id with a made-up relay node).
"""

from __future__ import annotations

import enum
import functools
import hashlib
import hmac
from dataclasses import dataclass, field, replace

from construct import (
    BitsInteger,
    BitStruct,
    Bytes,
    ConstructError,
    Flag,
    GreedyBytes,
    Int8ul,
    Int16ul,
    Int32ul,
    Padding,
    Struct,
)
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from evy.mesh.errors import ForeignNetwork, ForgedFrame, MalformedFrame, PayloadTooLarge
from evy.mesh.keys import NetworkKey
from evy.messages import Priority

VERSION = 2
BROADCAST = 0xFFFFFFFF
MAX_FRAME = 255
TAG_BYTES = 8
HOP_TAG_BYTES = 4
MAX_HOPS = 7
MAX_FRAGMENTS = 15


class Kind(enum.IntEnum):
    ACK = 1
    SMS_RELAY = 2
    ALERT = 3
    BEACON = 4
    OFFLOAD_REQUEST = 5
    OFFLOAD_RESPONSE = 6
    UPLINK_HANDOFF = 7  # fleet events a kit without a backhaul hands to a neighbour that has one
    UPLINK_ACK = 8  # the neighbour: the broker acknowledged these events (the origin may delete them)
    CASE_HANDOVER = 9  # an operator hands a case to a kit nearer its sender (messages.CaseHandover)


# The priority byte on air: three classes, higher is more urgent (the reverse of Priority's order). An
# emergency may use the half of the airtime allowance routine traffic leaves free.
ON_AIR = {Priority.BACKGROUND: 0, Priority.BROADCAST: 0, Priority.ROUTINE: 1, Priority.COMMAND: 1,
          Priority.EMERGENCY: 2, Priority.LIFE_THREATENING: 2}
FROM_AIR = {0: Priority.BACKGROUND, 1: Priority.ROUTINE, 2: Priority.EMERGENCY}


def carried(priority: Priority) -> Priority:
    """The priority as the mesh carries it: its class on air (LIFE_THREATENING travels as EMERGENCY)."""
    return FROM_AIR[ON_AIR[priority]]


HEADER = Struct(
    "version_kind" / BitStruct("version" / BitsInteger(4), "kind" / BitsInteger(4)),
    "destination" / Int32ul,
    "source" / Int32ul,
    "packet_id" / Int32ul,
    "flags" / BitStruct(
        "hop_start" / BitsInteger(3), "hop_limit" / BitsInteger(3), "want_ack" / Flag, Padding(1)),
    "priority" / Int8ul,
    "network" / Int16ul,
    "next_hop" / Int8ul,
    "relay" / Int8ul,
    "hop_tag" / Bytes(HOP_TAG_BYTES),
)
HEADER_BYTES = HEADER.sizeof()

INNER = Struct(
    "message_id" / Int32ul,
    "fragment" / BitStruct("index" / BitsInteger(4), "count" / BitsInteger(4)),
    "body" / GreedyBytes,
)
INNER_OVERHEAD = len(INNER.build({"message_id": 0, "fragment": {"index": 0, "count": 1}, "body": b""}))
MAX_BODY = MAX_FRAME - HEADER_BYTES - TAG_BYTES - INNER_OVERHEAD
# construct's compiled parsers are the same declarations, a few times faster
_HEADER = HEADER.compile()
_INNER = INNER.compile()


@dataclass(frozen=True)
class Header:
    kind: Kind
    destination: int
    source: int
    packet_id: int
    hop_limit: int
    hop_start: int
    want_ack: bool
    priority: Priority
    network: int
    next_hop: int = 0
    relay: int = 0
    hop_tag: bytes = field(default=bytes(HOP_TAG_BYTES), compare=False)  # set by seal/reroute

    def __post_init__(self) -> None:
        object.__setattr__(self, "priority", carried(self.priority))  # a header holds what goes on air

    @property
    def hops_taken(self) -> int:
        return self.hop_start - self.hop_limit

    def to_container(self) -> dict:
        return {
            "version_kind": {"version": VERSION, "kind": int(self.kind)},
            "destination": self.destination, "source": self.source, "packet_id": self.packet_id,
            "flags": {"hop_start": self.hop_start, "hop_limit": self.hop_limit, "want_ack": self.want_ack},
            "priority": ON_AIR[self.priority], "network": self.network,
            "next_hop": self.next_hop, "relay": self.relay, "hop_tag": self.hop_tag,
        }


@dataclass(frozen=True)
class Frame:
    header: Header
    message_id: int
    fragment_index: int
    fragment_count: int
    body: bytes


def _mutable_mask() -> int:
    blank = {"version_kind": {"version": 0, "kind": 0}, "destination": 0, "source": 0, "packet_id": 0,
             "flags": {"hop_start": 0, "hop_limit": 0, "want_ack": False}, "priority": 0, "network": 0,
             "next_hop": 0, "relay": 0, "hop_tag": bytes(HOP_TAG_BYTES)}
    full = {**blank, "flags": {**blank["flags"], "hop_limit": MAX_HOPS}, "next_hop": 0xFF, "relay": 0xFF,
            "hop_tag": b"\xff" * HOP_TAG_BYTES}
    return int.from_bytes(HEADER.build(full), "little")


_IMMUTABLE = ~_mutable_mask() & ((1 << 8 * HEADER_BYTES) - 1)


def associated_data(header_bytes: bytes) -> bytes:
    """The raw header with the relay-mutable bits (derived from the declaration above) zeroed."""
    return (int.from_bytes(header_bytes, "little") & _IMMUTABLE).to_bytes(HEADER_BYTES, "little")


_HOP_TAG_AT = HEADER_BYTES - HOP_TAG_BYTES


@functools.lru_cache(maxsize=8)
def _hop_key(aead_key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"evy-mesh-v2", info=b"hop-tag").derive(aead_key)


def hop_tag(raw: bytes, key: NetworkKey) -> bytes:
    """The tag binding the relay-rewritten fields to the rest of the frame: only a key holder can make it."""
    blanked = raw[:_HOP_TAG_AT] + bytes(HOP_TAG_BYTES) + raw[HEADER_BYTES:]
    return hmac.digest(_hop_key(key.aead_key), blanked, hashlib.sha256)[:HOP_TAG_BYTES]


def _with_hop_tag(raw: bytes, key: NetworkKey) -> bytes:
    return raw[:_HOP_TAG_AT] + hop_tag(raw, key) + raw[HEADER_BYTES:]


def node_byte(node_id: int) -> int:
    """The last byte of a node id, as carried in next-hop and relay fields."""
    return node_id & 0xFF


def parse_header(raw: bytes) -> Header:
    """The cleartext header, validated; raises :class:`MalformedFrame`."""
    if not isinstance(raw, bytes | bytearray):
        raise MalformedFrame("a frame is bytes")
    if len(raw) > MAX_FRAME:
        raise MalformedFrame(f"frame of {len(raw)} bytes exceeds {MAX_FRAME}")
    if len(raw) < HEADER_BYTES + TAG_BYTES + INNER_OVERHEAD:
        raise MalformedFrame(f"frame of {len(raw)} bytes is shorter than the minimum "
                             f"{HEADER_BYTES + TAG_BYTES + INNER_OVERHEAD}")
    try:
        fields = _HEADER.parse(bytes(raw[:HEADER_BYTES]))
    except ConstructError as exc:  # cannot happen for the right length, but never crash on air data
        raise MalformedFrame(f"header: {exc}") from None
    version, kind = fields.version_kind.version, fields.version_kind.kind
    if version != VERSION:
        raise MalformedFrame(f"protocol version {version}, expected {VERSION}")
    if kind not in Kind._value2member_map_:
        raise MalformedFrame(f"unknown frame kind {kind}")
    if fields.priority not in FROM_AIR:
        raise MalformedFrame(f"unknown priority {fields.priority}")
    flags = fields.flags
    if flags.hop_limit > flags.hop_start:
        raise MalformedFrame(f"hop limit {flags.hop_limit} above hop start {flags.hop_start}")
    if fields.source in (0, BROADCAST) or fields.destination == 0:
        raise MalformedFrame("source or destination is a reserved node id")
    return Header(Kind(kind), fields.destination, fields.source, fields.packet_id, flags.hop_limit,
                  flags.hop_start, bool(flags.want_ack), FROM_AIR[fields.priority], fields.network,
                  fields.next_hop, fields.relay, bytes(fields.hop_tag))


def _nonce(header: Header) -> bytes:
    # Unique per key as long as each source never reuses a packet id (see state.PacketCounter).
    return header.source.to_bytes(4, "little") + header.packet_id.to_bytes(4, "little")


def seal(frame: Frame, key: NetworkKey) -> bytes:
    """Encrypt and authenticate a frame; the result is what goes on air."""
    header = frame.header
    if header.network != key.network_id:
        raise ValueError("frame header names another network than the key")
    if not 0 <= header.hop_limit <= header.hop_start <= MAX_HOPS:
        raise ValueError(f"hop limit/start must satisfy 0 ≤ limit ≤ start ≤ {MAX_HOPS}")
    if len(frame.body) > MAX_BODY:
        raise PayloadTooLarge(f"body of {len(frame.body)} bytes exceeds {MAX_BODY}; fragment it")
    if not 0 <= frame.fragment_index < frame.fragment_count <= MAX_FRAGMENTS:
        raise ValueError("fragment index/count out of range")
    inner = _INNER.build({"message_id": frame.message_id,
                          "fragment": {"index": frame.fragment_index, "count": frame.fragment_count},
                          "body": frame.body})
    header_bytes = _HEADER.build(header.to_container())
    sealed = AESCCM(key.aead_key, tag_length=TAG_BYTES).encrypt(_nonce(header), inner,
                                                                associated_data(header_bytes))
    return _with_hop_tag(header_bytes + sealed, key)


def open_frame(raw: bytes, key: NetworkKey, header: Header | None = None) -> Frame:
    """Parse, check the network and authenticate; raises a :class:`FrameError` subclass, never anything else."""
    header = header or parse_header(raw)
    if header.network != key.network_id:
        raise ForeignNetwork(f"network id {header.network:04x} is not ours ({key.network_id:04x})")
    raw = bytes(raw)
    try:
        inner = AESCCM(key.aead_key, tag_length=TAG_BYTES).decrypt(_nonce(header), raw[HEADER_BYTES:],
                                                                 associated_data(raw[:HEADER_BYTES]))
    except InvalidTag:
        raise ForgedFrame(f"frame {header.source:08x}/{header.packet_id} failed authentication "
                          "(wrong key, forged or corrupted)") from None
    if not hmac.compare_digest(hop_tag(raw, key), raw[_HOP_TAG_AT:HEADER_BYTES]):
        raise ForgedFrame(f"frame {header.source:08x}/{header.packet_id}: relay fields fail authentication "
                          "(rewritten without the key)")
    try:
        fields = _INNER.parse(inner)
    except ConstructError as exc:  # authentic but not ours to parse: a newer or buggy sender
        raise MalformedFrame(f"inner part does not parse: {exc}") from None
    index, count = fields.fragment.index, fields.fragment.count
    if not 0 <= index < count:
        raise MalformedFrame(f"fragment {index} of {count}")
    return Frame(header, fields.message_id, index, count, bytes(fields.body))


def reroute(raw: bytes, hop_limit: int, next_hop: int, relay: int, key: NetworkKey) -> bytes:
    """The same sealed frame with the relay-mutable fields rewritten and its hop tag made anew."""
    header = replace(parse_header(raw), hop_limit=hop_limit, next_hop=next_hop, relay=relay)
    return _with_hop_tag(_HEADER.build(header.to_container()) + bytes(raw[HEADER_BYTES:]), key)


def describe(frame: Frame) -> dict:
    """A JSON-able view of an opened frame (used by `evy frame decode`)."""
    h = frame.header
    return {
        "version": VERSION, "kind": h.kind.name.lower(), "destination": f"{h.destination:08x}",
        "source": f"{h.source:08x}", "packet_id": h.packet_id, "hop_limit": h.hop_limit,
        "hop_start": h.hop_start, "want_ack": h.want_ack, "priority": h.priority.name.lower(),
        "network": f"{h.network:04x}", "next_hop": h.next_hop, "relay": h.relay,
        "hop_tag": h.hop_tag.hex(), "message_id": frame.message_id,
        "fragment": [frame.fragment_index, frame.fragment_count],
        "body_hex": frame.body.hex(),
    }
