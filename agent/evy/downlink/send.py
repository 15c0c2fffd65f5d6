"""The cell's side of the downlink (`evy hq send`): read what to send from a file, sign it with the cell's
key, publish it at QoS 1 (not retained) and wait for the broker's PUBACK.

A kit that is away gets it when it reconnects: its persistent session holds the message (the broker must
not expire the session or cap its queue; docs/fleet.md). Sequence numbers grow per key: the next one is
above both the last one recorded beside the key (``<key>.seq``) and the current time in milliseconds, so
a lost ``.seq`` file never makes a number go back on a cell with a sane clock.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evy.downlink.envelope import KINDS, BadEnvelope, Envelope, check_target, encode, topic_for
from evy.downlink.keys import SigningKey
from evy.errors import EvyError
from evy.files import atomic_write

if TYPE_CHECKING:
    from evy.config import Config

PUBACK_TIMEOUT = 30.0


class SendError(EvyError):
    """A downlink message that cannot be sent (bad file, no key, the broker did not acknowledge)."""


def target_of(to: str) -> str:
    """``--to`` as an envelope target: ``all``, ``group:<name>``, else a kit id."""
    target = to if to == "all" or to.startswith(("group:", "kit:")) else f"kit:{to}"
    try:
        return check_target(target)
    except BadEnvelope as exc:
        raise SendError(str(exc)) from None


def payload_from_file(kind: str, path: Path, language: str | None = None) -> dict[str, Any]:
    """The payload ``kind`` takes, from a file: JSON for localinfo, broadcast and config (the payload
    object itself); a protocol library's TOML (its language from ``language`` or the file name); a
    knowledge-base markdown file (its language from ``language`` or its folder)."""
    if kind not in KINDS:
        raise SendError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SendError(f"{path}: cannot read: {getattr(exc, 'strerror', exc)}") from None
    if kind == "protocols":
        return {"language": language or Path(path).stem, "library": text}
    if kind == "knowledge":
        return {"language": language or Path(path).parent.name, "name": Path(path).stem, "markdown": text}
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SendError(f"{path}: not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise SendError(f"{path}: expected a JSON object")
    return payload


def next_seq(key_path: Path, now: float) -> int:
    """The next sequence number of the key at ``key_path`` (kept in ``<key>.seq``, under a lock)."""
    seq_path = Path(f"{os.fspath(key_path)}.seq")
    with open(f"{os.fspath(key_path)}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            last = int(seq_path.read_text("ascii").strip())
        except (OSError, ValueError):
            last = 0
        seq = max(last + 1, int(now * 1000))
        atomic_write(seq_path, f"{seq}\n")
    return seq


def build(key: SigningKey, kind: str, target: str, payload: dict[str, Any], seq: int, now: float) -> Envelope:
    return key.sign(Envelope(kind, check_target(target), key.fingerprint, seq, int(now), payload))


class Signer:
    """The cell's signing key and its sequence file: every message it seals gets the next number, whoever
    seals it (`evy hq send` and the fleet console share the key and its ``.seq``)."""

    def __init__(self, key: SigningKey, key_path: Path):
        self.key, self.key_path = key, Path(key_path)

    @classmethod
    def load(cls, key_path: Path | str) -> Signer:
        return cls(SigningKey.load(key_path), Path(key_path))

    @property
    def fingerprint(self) -> str:
        return self.key.fingerprint

    def seal(self, kind: str, target: str, payload: dict[str, Any], now: float) -> Envelope:
        return build(self.key, kind, target, payload, next_seq(self.key_path, now), now)


def publish(config: Config, topic: str, message: bytes, timeout: float = PUBACK_TIMEOUT) -> None:
    """Publish at QoS 1 on a connection of its own and return once the broker acknowledged it."""
    from evy.fleet.link import connect_async, make_client

    client = make_client(config, f"{config['hq.client_id']}-send")
    connected, acked = threading.Event(), threading.Event()
    client.on_connect = lambda *args: connected.set() if args[3] == 0 else None
    client.on_publish = lambda *args: acked.set()
    connect_async(client, config)
    client.loop_start()
    try:
        if not connected.wait(timeout):
            raise SendError(f"no connection to {config['fleet.broker_host']}:{config['fleet.broker_port']} "
                            f"within {timeout:.0f} s")
        client.publish(topic, message, qos=1, retain=False)
        if not acked.wait(timeout):
            raise SendError(f"the broker did not acknowledge within {timeout:.0f} s")
    finally:
        client.disconnect()
        client.loop_stop()


def send(config: Config, kind: str, to: str, path: Path, *, key_path: Path | None = None,
         language: str | None = None, now: float | None = None) -> dict[str, Any]:
    """Sign and publish one message; what was sent (topic, signer, seq, size)."""
    key_path = key_path or config["downlink.signing_key"]
    if key_path is None:
        raise SendError("no signing key: set downlink.signing_key or pass --key")
    now = time.time() if now is None else now
    target = target_of(to)
    payload = payload_from_file(kind, path, language)
    signer = Signer.load(key_path)
    envelope = signer.seal(kind, target, payload, now)
    message, topic = encode(envelope), topic_for(target, kind)
    publish(config, topic, message)
    return {"topic": topic, "kind": kind, "target": target, "signer": signer.fingerprint, "seq": envelope.seq,
            "bytes": len(message), "digest": envelope.digest()}
