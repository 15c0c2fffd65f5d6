"""The fleet uplink over the LoRa mesh, for a kit whose own link to the broker is down.

Origin (no backhaul): queued case events go, most urgent first, in UplinkHandoff messages to a neighbour
whose beacon reports a backhaul, one message in flight at a time and within the mesh's airtime budget. They
stay queued until that neighbour's UplinkAck says the broker acknowledged them (its PUBACK), so a lost
frame, a neighbour that dies, or one that lost its own link costs a retry after ``fleet.handoff_timeout``,
never an event. Health and metrics snapshots wait for the kit's own link (too many bytes for the radio).

Relay (backhaul up): each event is published at QoS 1 to ``evy/v1/<relay>/relayed/<origin>/<topic>``, the
payload exactly as the origin would have published it (same id), since the broker's ACL lets a kit write
under its own prefix only; the cell stores it under the origin. The relay keeps nothing on disk: on each
PUBACK it sends the origin an UplinkAck. A duplicate (a retry after a lost UplinkAck) is dropped by id at
the cell.

The mesh key proves a hand-off came from a kit of this mesh, not from which one: a kit holding the key can
publish events in another kit's name through a relay (docs/fleet.md).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Protocol

from evy.fleet import events
from evy.mesh.errors import MeshError
from evy.mesh.frames import MAX_BODY, MAX_FRAGMENTS
from evy.mesh.messages import Body, HandedEvent, UplinkAck, UplinkHandoff, encode
from evy.messages import Priority
from evy.store import Store, uplink

log = logging.getLogger("evy.fleet.handoff")

MAX_HANDOFF_BODY = 2 * MAX_BODY  # two frames at most: every extra fragment is another chance to lose them all
MAX_EVENTS = 40  # looked at per hand-off (the deflated body usually fills up first)
MAX_ACK_SEQS = 50  # per UplinkAck: 4 bytes each, within one frame
ACK_LINGER_S = 1.0  # an UplinkAck waits this long for the rest of its hand-off's PUBACKs (one frame, not several)
AIRTIME_RETRY_S = 10.0  # after the airtime budget said no, look again this much later (not every pass)
AVOID_S = 60.0  # a neighbour whose hand-off failed is not asked again for this long (another one may be)


class MeshPort(Protocol):
    """What the hand-off needs from the kit's mesh link (evy.pipeline.meshlink.MeshLink)."""

    def backhauls(self) -> list[int]: ...
    def airtime_allows(self, body_bytes: int, priority: Priority, routine_share: float) -> bool: ...
    def send_fleet(self, destination: int, message: UplinkHandoff | UplinkAck, priority: Priority) -> int: ...
    def take_fleet(self) -> list[tuple[int, Priority, Body]]: ...
    def take_fleet_outcomes(self) -> list[tuple[int, bool]]: ...


def mesh_priority(event_priority: int) -> Priority:
    """The mesh class an event travels in: a case's priority when it is one, else background."""
    return Priority(event_priority) if 0 <= event_priority <= Priority.ROUTINE else Priority.BACKGROUND


@dataclass
class _Handed:
    gateway: int
    seqs: tuple[int, ...]
    deadline: float


class Handoff:
    """Both roles of one kit; driven by its uplink thread (``turn``) and told of PUBACKs (``acknowledged``)."""

    def __init__(self, kit: str, mesh: MeshPort, config: Any, *, clock=time.monotonic):
        self.kit, self.mesh, self.clock = kit, mesh, clock
        self.timeout_s = config["fleet.handoff_timeout"]
        self.routine_share = config["fleet.handoff_airtime_share"]
        self._handed: dict[int, _Handed] = {}  # mesh message id -> what it carries
        self._avoid: dict[int, float] = {}  # gateway -> until
        self._paused_until = 0.0
        self._stay_home: set[int] = set()  # events too large for the mesh (they wait for the kit's own link)
        # paho mid -> (source, origin, seq, class, when published)
        self._relayed: dict[int, tuple[int, str, int, Priority, float]] = {}
        self._ack_due: dict[tuple[int, str, Priority], list[int]] = defaultdict(list)
        self._ack_first_due: dict[tuple[int, str, Priority], float] = {}
        self.handed_off = self.confirmed = self.relayed = 0

    # -- both roles ------------------------------------------------------------------------------------
    def turn(self, store: Store, connected: bool, publish) -> bool:
        """One pass. ``publish(topic, payload)`` sends at QoS 1 through the kit's own broker connection and
        returns the paho message id (None: not sent). True when it did anything."""
        busy = self._settle_outcomes()
        for source, priority, body in self.mesh.take_fleet():
            busy = True
            if isinstance(body, UplinkAck):
                self._confirmed(store, source, body)
            elif connected:
                self._relay(source, priority, body, publish)
            else:
                log.info("hand-off from %#x ignored: this kit's own link is down", source)
        busy |= self._send_acks(self.clock())
        if not connected:
            busy |= self._hand_off(store)
        return busy

    def acknowledged(self, mid: int) -> bool:
        """A PUBACK for ``mid``: True when it was a relayed event (its UplinkAck is now due)."""
        relayed = self._relayed.pop(mid, None)
        if relayed is None:
            return False
        source, origin, seq, priority, _ = relayed
        due = self._ack_due[(source, origin, priority)]
        if not due:
            self._ack_first_due[(source, origin, priority)] = self.clock()
        due.append(seq)
        return True

    # -- origin ----------------------------------------------------------------------------------------
    def _hand_off(self, store: Store) -> bool:
        if self._handed:
            return False  # one at a time: the mesh is slow and shared
        now = self.clock()
        # a neighbour that just failed goes last: another one may do better, and if there is none it is
        # asked again (its link may be back)
        gateways = sorted(self.mesh.backhauls(), key=lambda g: self._avoid.get(g, 0.0) > now)
        if not gateways:
            return False
        if now < self._paused_until:
            return False
        queued = uplink.next_batch(store, skip=self._stay_home, limit=MAX_EVENTS, topic="cases")
        chosen: list[HandedEvent] = []
        body = b""
        for event in queued:
            if chosen and mesh_priority(event.priority).emergency != mesh_priority(chosen[0].priority).emergency:
                break  # one class per message: an emergency never waits behind routine airtime
            candidate = [*chosen, HandedEvent(event.seq, event.type, event.priority, event.at, event.data)]
            candidate_body = encode(UplinkHandoff(self.kit, tuple(candidate)))
            if len(candidate_body) > MAX_HANDOFF_BODY and chosen:
                break
            if len(candidate_body) > MAX_FRAGMENTS * MAX_BODY:
                log.warning("fleet event %d is too large for the mesh; it waits for this kit's own link", event.seq)
                self._stay_home.add(event.seq)
                continue
            chosen, body = candidate, candidate_body
        if not chosen:
            return False
        priority = mesh_priority(chosen[0].priority)
        if not self.mesh.airtime_allows(len(body), priority, self.routine_share):
            self._paused_until = now + AIRTIME_RETRY_S
            return False
        gateway = gateways[0]
        try:
            message_id = self.mesh.send_fleet(gateway, UplinkHandoff(self.kit, tuple(chosen)), priority)
        except MeshError as exc:
            log.warning("fleet hand-off not sent: %s", exc)
            self._paused_until = now + AVOID_S
            return False
        self._handed[message_id] = _Handed(gateway, tuple(e.seq for e in chosen), now + self.timeout_s)
        self.handed_off += len(chosen)
        log.info("handed %d fleet events to %#x (mesh message %d)", len(chosen), gateway, message_id)
        return True

    def _settle_outcomes(self) -> bool:
        busy = False
        for message_id, delivered in self.mesh.take_fleet_outcomes():
            handed = self._handed.get(message_id)
            if handed is not None and not delivered:  # never reached the neighbour: free them at once
                del self._handed[message_id]
                self._avoid[handed.gateway] = self.clock() + AVOID_S
                busy = True
        now = self.clock()
        for message_id in [m for m, handed in self._handed.items() if handed.deadline <= now]:
            handed = self._handed.pop(message_id)
            self._avoid[handed.gateway] = now + AVOID_S
            log.info("fleet hand-off to %#x unconfirmed after %.0f s; its events go again", handed.gateway,
                     self.timeout_s)
            busy = True
        return busy

    def _confirmed(self, store: Store, source: int, ack: UplinkAck) -> None:
        if ack.origin != self.kit:
            log.info("uplink ack from %#x for %r ignored (this kit is %r)", source, ack.origin, self.kit)
            return
        seqs = set(ack.seqs)
        deleted = uplink.acknowledged(store, sorted(seqs))
        self.confirmed += deleted
        log.info("neighbour %#x: the broker has %d of this kit's events", source, len(seqs))
        for message_id in [m for m, handed in self._handed.items() if set(handed.seqs) <= seqs]:
            del self._handed[message_id]
        for handed in self._handed.values():  # a partial confirmation: the rest stay in flight
            handed.seqs = tuple(s for s in handed.seqs if s not in seqs)

    # -- relay -----------------------------------------------------------------------------------------
    def _relay(self, source: int, priority: Priority, handoff: UplinkHandoff, publish) -> None:
        origin = handoff.origin
        if not events.KIT_ID.fullmatch(origin) or origin == self.kit:
            log.warning("hand-off from %#x refused: origin %r is not another kit's id", source, origin)
            return
        log.info("publishing %d fleet events of %s for neighbour %#x", len(handoff.events), origin, source)
        for event in handoff.events:
            topic = events.relayed_topic_for(self.kit, origin, events.topic_of_type(event.type))
            try:
                payload = events.encode_stored(origin, event.seq, event.type, event.at, event.priority, event.data)
            except ValueError as exc:  # an `at` JSON cannot carry: the cell could not store it either
                log.warning("hand-off from %#x: event %s:%d not relayed: %s", source, origin, event.seq, exc)
                continue
            mid = publish(topic, payload)
            if mid is None:
                return  # the link just went: the origin tries again after its timeout
            self._relayed[mid] = (source, origin, event.seq, priority, self.clock())
            self.relayed += 1

    def _send_acks(self, now: float) -> bool:
        busy = False
        for mid in [m for m, r in self._relayed.items() if now - r[4] > self.timeout_s]:
            del self._relayed[mid]  # no PUBACK in all that time (a lost session): the origin has sent it again
        waiting = {(source, origin, priority) for source, origin, _, priority, _ in self._relayed.values()}
        for (source, origin, priority), seqs in list(self._ack_due.items()):
            key = (source, origin, priority)
            if key in waiting and now - self._ack_first_due[key] < ACK_LINGER_S:
                continue
            del self._ack_due[key], self._ack_first_due[key]
            for start in range(0, len(seqs), MAX_ACK_SEQS):
                try:
                    self.mesh.send_fleet(source, UplinkAck(origin, tuple(seqs[start:start + MAX_ACK_SEQS])), priority)
                except MeshError as exc:  # the origin's hand-off times out and it sends them again
                    log.warning("uplink ack to %#x not sent: %s", source, exc)
            busy = True
        return busy
