"""The kit's side of the downlink: rides the fleet uplink's MQTT connection (its persistent session, QoS 1),
takes each message through the checks in order, and applies it only when every one passes:

1. the topic is a downlink topic, the message a well-formed envelope (:mod:`evy.downlink.envelope`);
2. its signer is a key pinned in the image and the signature verifies (:mod:`evy.downlink.keys`);
3. the topic and the envelope agree on kind and target, and the target is this kit, a group it is in, or all;
4. its sequence number is above the highest applied from that signer (a replay or a rollback is refused;
   the very message applied last, delivered again, is acknowledged and changes nothing);
5. :func:`evy.downlink.apply.apply` validates and applies it.

A refused message is logged in one line, kept in the store's downlink log and reported to the cell as a
`downlink.refused` event; an applied one is recorded (the signer's sequence moves up) and reported as
`downlink.applied`. Runs in paho's network thread (paho sends the PUBACK when it returns) on a store
connection of its own per message; it never raises into paho.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evy.downlink import envelope as wire
from evy.downlink.apply import Refused, apply
from evy.downlink.keys import load_pinned, verifies
from evy.errors import EvyError
from evy.store import Store
from evy.store import downlink as store_downlink

if TYPE_CHECKING:
    from evy.config import Config

log = logging.getLogger("evy.downlink")

QOS = 1


class Downlink:
    """Attach to a paho client with :meth:`attach`; subscribe on every connect with :meth:`subscribe`."""

    def __init__(self, config: Config, store_path: Path, kit: str, keys: dict[str, Any], *,
                 clock: Callable[[], float] = time.time):
        self.config, self.store_path, self.kit, self.keys, self.clock = config, Path(store_path), kit, keys, clock
        self.groups: tuple[str, ...] = tuple(config["downlink.groups"])
        self.topics = wire.subscriptions(kit, self.groups)
        self.applied = self.refused = self.duplicates = self.failed = 0

    def attach(self, client: Any) -> None:
        for topic in self.topics:
            client.message_callback_add(topic, self.on_message)

    def subscribe(self, client: Any) -> None:
        client.subscribe([(topic, QOS) for topic in self.topics])

    def on_message(self, client: Any, userdata: Any, message: Any) -> None:
        try:
            self.handle(message.topic, bytes(message.payload))
        except Exception:  # never into paho: its network thread carries the uplink too
            self.failed += 1
            log.exception("downlink message on %s could not be recorded; it is lost", message.topic)

    def accepts(self, target: str) -> bool:
        scope, _, name = target.partition(":")
        return target == "all" or (scope == "kit" and name == self.kit) or (scope == "group" and name in self.groups)

    def handle(self, topic: str, payload: bytes) -> str:
        """Check and apply one message; "applied", "refused" or "duplicate"."""
        now = self.clock()
        outcome = store_downlink.Outcome(topic, hashlib.sha256(payload).hexdigest())
        with Store.open(self.store_path) as store:
            try:
                target, kind = wire.parse_topic(topic)
                envelope = wire.decode(payload)
                outcome = store_downlink.Outcome(topic, outcome.raw_digest, envelope.signer, envelope.seq,
                                                 envelope.kind, envelope.target)
                self._verify(envelope, target, kind)
                state = store_downlink.signer_state(store, envelope.signer)
                if state is not None and envelope.seq <= state.last_seq:
                    if envelope.seq == state.last_seq and envelope.digest() == state.last_digest:
                        self.duplicates += 1
                        log.info("downlink %s #%d delivered again; already applied", envelope.kind, envelope.seq)
                        return "duplicate"
                    raise Refused(f"seq {envelope.seq} is not above {state.last_seq}, the last applied from "
                                  f"{envelope.signer}: a replay or a rollback")
                summary = apply(envelope, store, self.config, now)
            except (wire.BadEnvelope, Refused) as exc:
                reason = f"malformed: {exc}" if isinstance(exc, wire.BadEnvelope) else str(exc)
                self.refused += 1
                log.warning("downlink refused on %s: %s", topic, reason)
                store_downlink.refused(store, outcome, reason[:300], now)
                return "refused"
            self.applied += 1
            log.info("downlink applied from %s #%d: %s", envelope.signer, envelope.seq, summary)
            store_downlink.applied(store, outcome, envelope.digest(), summary, now)
            return "applied"

    def _verify(self, envelope: wire.Envelope, target: str, kind: str) -> None:
        key = self.keys.get(envelope.signer)
        if key is None:
            raise Refused(f"signed by {envelope.signer}, a key not pinned on this kit")
        if not verifies(envelope, key):
            raise Refused(f"bad signature (claims signer {envelope.signer})")
        if (envelope.target, envelope.kind) != (target, kind):
            raise Refused(f"the topic says {kind} for {target}, the envelope {envelope.kind} for {envelope.target}")
        if not self.accepts(envelope.target):
            raise Refused(f"target {envelope.target} is not this kit ({self.kit}), its groups or all")

    def status(self) -> dict[str, Any]:
        return {"topics": self.topics, "keys": sorted(self.keys), "applied": self.applied, "refused": self.refused,
                "duplicates": self.duplicates, "failed": self.failed}


def open_downlink(config: Config, store_path: Path, kit: str) -> Downlink | None:
    """The kit's downlink, or None when no keys are pinned (``downlink.keys_file`` unset) or they cannot be
    read: then the kit takes no downlink at all, and says so once."""
    if config["downlink.keys_file"] is None:
        return None
    try:
        return Downlink(config, store_path, kit, load_pinned(config["downlink.keys_file"]))
    except EvyError as exc:  # unreadable keys, a kit id that cannot take a downlink, cryptography missing
        log.error("downlink off: %s", exc)
        return None
