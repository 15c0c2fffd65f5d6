"""The downlink's wire format, declared once: one signed envelope per MQTT message (docs/fleet.md, Downlink).

    {"v":1,"kind":"broadcast","target":"all","signer":"3f2a…","seq":17,"issued_at":1765100000,
     "payload":{...},"sig":"<base64 Ed25519 signature>"}

The signature covers the canonical encoding of every field but ``sig``: ``DOMAIN`` followed by the fields as
JSON with sorted keys, no spaces, UTF-8 (``canonical``). A receiver re-encodes what it parsed, so however a
relay re-spaced or re-escaped the JSON, the same values verify and any other value does not. ``signer`` is
the fingerprint of the public key (``keys.fingerprint``); ``seq`` grows with every message a signer sends.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from dataclasses import dataclass, replace
from typing import Any

from evy.errors import EvyError

VERSION = 1
DOMAIN = b"evy-downlink-v1\0"  # a signature made for anything else never verifies as a downlink message
KINDS = ("localinfo", "broadcast", "protocols", "knowledge", "config")
MAX_BYTES = 256 * 1024  # a protocol file is ~60 kB; anything far larger is refused unread
NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a kit id or a group name: one MQTT topic level
SIGNER = re.compile(r"[0-9a-f]{16}")
_FIELDS = ("v", "kind", "target", "signer", "seq", "issued_at", "payload", "sig")


class BadEnvelope(EvyError, ValueError):
    """A downlink message that is not a well-formed v1 envelope; the message names the field."""


@dataclass(frozen=True)
class Envelope:
    kind: str
    target: str  # "all", "kit:<id>" or "group:<name>"
    signer: str
    seq: int
    issued_at: int  # seconds since the epoch, as the cell's clock had it
    payload: dict[str, Any]
    sig: bytes = b""

    def signed_fields(self) -> dict[str, Any]:
        return {"v": VERSION, "kind": self.kind, "target": self.target, "signer": self.signer, "seq": self.seq,
                "issued_at": self.issued_at, "payload": self.payload}

    def canonical(self) -> bytes:
        """The bytes the signature covers."""
        try:
            text = json.dumps(self.signed_fields(), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                              allow_nan=False)
            return DOMAIN + text.encode("utf-8")
        except (ValueError, TypeError, UnicodeEncodeError) as exc:
            raise BadEnvelope(f"cannot be encoded canonically: {exc}") from None

    def with_signature(self, sig: bytes) -> Envelope:
        return replace(self, sig=sig)

    def digest(self) -> str:
        """sha256 of the canonical bytes and the signature: the same message, however it was re-encoded."""
        return hashlib.sha256(self.canonical() + self.sig).hexdigest()


def check_target(target: Any) -> str:
    if target == "all":
        return target
    if isinstance(target, str):
        scope, colon, name = target.partition(":")
        if colon and scope in ("kit", "group") and NAME.fullmatch(name) and not (scope == "kit" and name in RESERVED):
            return target
    raise BadEnvelope(f"target {target!r} is not 'all', 'kit:<id>' or 'group:<name>'")


# Topics: evy/v1/<kit>/down/<kind>, evy/v1/all/down/<kind>, evy/v1/groups/<group>/down/<kind>. A kit may not
# be called "all" or "groups", so the three never meet.
PREFIX = f"evy/v{VERSION}"
RESERVED = ("all", "groups")


def topic_for(target: str, kind: str) -> str:
    check_target(target)
    if kind not in KINDS:
        raise BadEnvelope(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    scope, _, name = target.partition(":")
    return {"all": f"{PREFIX}/all", "kit": f"{PREFIX}/{name}", "group": f"{PREFIX}/groups/{name}"}[scope] + \
        f"/down/{kind}"


def parse_topic(topic: str) -> tuple[str, str]:
    """(target, kind) of a downlink topic; BadEnvelope for any other topic."""
    parts = topic.split("/")
    if "/".join(parts[:2]) == PREFIX and len(parts) == 5 and parts[3] == "down":
        target = "all" if parts[2] == "all" else f"kit:{parts[2]}"
    elif "/".join(parts[:3]) == f"{PREFIX}/groups" and len(parts) == 6 and parts[4] == "down":
        target = f"group:{parts[3]}"
    else:
        raise BadEnvelope(f"topic {topic!r} is not a downlink topic")
    kind = parts[-1]
    if kind not in KINDS:
        raise BadEnvelope(f"topic {topic!r}: kind {kind!r} is not one of {', '.join(KINDS)}")
    return check_target(target), kind


def subscriptions(kit: str, groups: tuple[str, ...] = ()) -> list[str]:
    """The topic filters a kit subscribes to: its own, the fleet's, and its groups'."""
    if kit in RESERVED or not NAME.fullmatch(kit):
        raise BadEnvelope(f"kit id {kit!r} cannot take a downlink (1-64 letters, digits, '-', '_'; not "
                          f"{' or '.join(RESERVED)})")
    return [f"{PREFIX}/{kit}/down/#", f"{PREFIX}/all/down/#", *(f"{PREFIX}/groups/{group}/down/#" for group in groups)]


def encode(envelope: Envelope) -> bytes:
    """The message as published: the signed fields and ``sig`` (base64), compact JSON."""
    body = {**envelope.signed_fields(), "sig": base64.b64encode(envelope.sig).decode("ascii")}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise BadEnvelope(f"field {key!r} appears twice")
        found[key] = value
    return found


def _reject_constant(name: str) -> Any:
    raise BadEnvelope(f"{name} is not a number JSON allows")


def decode(payload: bytes) -> Envelope:
    """The envelope a message carries (not yet verified); BadEnvelope naming the first thing wrong."""
    if len(payload) > MAX_BYTES:
        raise BadEnvelope(f"{len(payload)} bytes; at most {MAX_BYTES}")
    try:
        body = json.loads(payload, object_pairs_hook=_unique_keys, parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BadEnvelope(f"not JSON ({str(exc).splitlines()[0][:80]})") from None
    if not isinstance(body, dict):
        raise BadEnvelope("not a JSON object")
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise BadEnvelope(f"unknown field {unknown[0]!r}")
    if body.get("v") != VERSION or isinstance(body.get("v"), bool):
        raise BadEnvelope(f"version {body.get('v')!r}, expected {VERSION}")
    kind = body.get("kind")
    if kind not in KINDS:
        raise BadEnvelope(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    target = check_target(body.get("target"))
    signer = body.get("signer")
    if not isinstance(signer, str) or not SIGNER.fullmatch(signer):
        raise BadEnvelope(f"signer {signer!r} is not a key fingerprint (16 hex digits)")
    seq, issued_at = body.get("seq"), body.get("issued_at")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq < 2**63:
        raise BadEnvelope(f"seq {seq!r} is not a positive integer")
    if isinstance(issued_at, bool) or not isinstance(issued_at, int) or not 0 <= issued_at < 2**40:
        raise BadEnvelope(f"issued_at {issued_at!r} is not a time in whole seconds")
    payload_ = body.get("payload")
    if not isinstance(payload_, dict):
        raise BadEnvelope("payload is not a JSON object")
    sig = body.get("sig")
    try:
        raw_sig = base64.b64decode(sig, validate=True) if isinstance(sig, str) else None
    except (binascii.Error, ValueError):
        raw_sig = None
    if raw_sig is None or len(raw_sig) != 64:
        raise BadEnvelope("sig is not a base64 Ed25519 signature (64 bytes)")
    envelope = Envelope(kind, target, signer, seq, issued_at, payload_, raw_sig)
    envelope.canonical()  # a lone surrogate or the like cannot be signed: refuse it here, by name
    return envelope


def finite(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
