"""A mesh node: sends messages, relays other nodes' frames, acknowledges and retries.

It is I/O-free apart from its radio and clock, so the simulator runs this very code on a virtual clock.

Receive path: header parse → network id → authentication (AES-CCM, and the hop tag over the fields relays
rewrite) → duplicate cache (a copy heard again cancels our own pending flood relay and confirms a directed
relay) → per-source replay window → learn the route back to the source → acknowledge / deliver / relay.
Nothing a frame says changes any state before it authenticates: a copy forged from a genuine packet id
would otherwise steer routes and cancel relays.
"""

from __future__ import annotations

import logging
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evy.mesh import messages
from evy.mesh.clock import Clock, Handle
from evy.mesh.dutycycle import AirtimeLedger
from evy.mesh.errors import ForeignNetwork, ForgedFrame, FrameError, MeshError, ReplayedFrame
from evy.mesh.frames import (
    BROADCAST,
    MAX_HOPS,
    Frame,
    Header,
    Kind,
    Priority,
    carried,
    node_byte,
    open_frame,
    parse_header,
    seal,
)
from evy.mesh.keys import NetworkKey
from evy.mesh.messages import Ack, Beacon, Body, Reassembler
from evy.mesh.radio.base import Radio
from evy.mesh.relay import Relays
from evy.mesh.routing import CW_MAX, CW_MIN, RouteTable, RoutingParams, slot_s
from evy.mesh.state import Freshness, NodeState
from evy.mesh.transmit import ACK_FRAME_BYTES, TransmitQueue, frame_length

log = logging.getLogger(__name__)
UTILISATION_WINDOW_S = 120.0
POLITE_UTILISATION = 0.25  # above this share of airtime in use, status beacons wait for a quieter moment


@dataclass(frozen=True)
class Message:
    """A message delivered to this node's application (reassembled, authenticated, delivered once)."""

    source: int
    destination: int
    kind: Kind
    priority: Priority
    message_id: int
    body: bytes
    hops: int
    rssi: float
    snr: float

    def decoded(self) -> Body:
        return messages.decode(self.kind, self.body)


@dataclass
class Counters:
    originated: int = 0
    transmissions: int = 0
    airtime_s: float = 0.0
    relayed: int = 0
    relay_retries: int = 0
    relays_cancelled: int = 0
    retries: int = 0
    acks_sent: int = 0
    delivered: int = 0
    duplicate_deliveries_suppressed: int = 0
    duplicates: int = 0
    malformed: int = 0
    foreign: int = 0
    forged: int = 0
    replayed: int = 0
    deferred_by_duty_cycle: int = 0
    dropped_by_duty_cycle: int = 0
    channel_busy: int = 0
    gave_up: int = 0
    beacons_skipped: int = 0


@dataclass
class PeerStatus:
    beacon: Beacon
    heard_at: float
    hops: int


@dataclass
class _Outgoing:
    """One fragment this node originated, waiting for its end-to-end ACK."""

    destination: int
    kind: Kind
    priority: Priority
    message_id: int
    index: int
    count: int
    body: bytes
    attempts: int = 0
    routed: bool = False
    timer: Handle | None = None


class MeshNode:
    def __init__(self, node_id: int, key: NetworkKey, radio: Radio, clock: Clock, ledger: AirtimeLedger, *,
                 params: RoutingParams | None = None, state: NodeState | None = None,
                 battery: Callable[[], int | None] = lambda: None, rng: random.Random | None = None,
                 on_message: Callable[[Message], None] | None = None,
                 on_status: Callable[[int, bool], None] | None = None,
                 beacon: Callable[[], Beacon] | None = None, beacon_interval_s: float = 0.0):
        if not 0 < node_id < BROADCAST or node_byte(node_id) == 0:
            raise MeshError(f"node id {node_id:#x} is reserved (0, broadcast, or last byte 0)")
        self.node_id, self.key, self.radio, self.clock, self.ledger = node_id, key, radio, clock, ledger
        self.params = params or RoutingParams()
        if not 1 <= self.params.hop_limit <= MAX_HOPS:
            raise MeshError(f"hop limit must be 1..{MAX_HOPS}, got {self.params.hop_limit}")
        self.state = state or NodeState()
        self.rng = rng or random.Random()
        self.on_message = on_message
        self.on_status = on_status
        self.beacon_source = beacon
        self.beacon_interval_s = beacon_interval_s
        self.counters = Counters()
        self.routes = RouteTable(self.params.route_ttl_s, self.params.route_max_failures)
        self.peers: dict[int, PeerStatus] = {}
        self.transmissions: list[tuple[float, float]] = []  # (start, airtime) for duty-cycle audits
        self._byte = node_byte(node_id)
        self._reassembler = Reassembler()
        self._heard: deque[tuple[float, float]] = deque()  # (start, airtime) of frames heard or sent
        self.transmit_queue = TransmitQueue(radio, clock, ledger, self.counters, self.rng, self._on_air)
        self.relays = Relays(node_id, key, self.params, self.routes, radio, clock, self.rng, battery, self.counters,
                             self.transmit_queue)
        self._outgoing: dict[tuple[int, int], _Outgoing] = {}
        self._open_messages: dict[int, set[int]] = {}
        self._beacon_timer: Handle | None = None
        self._running = False

    @property
    def battery(self) -> Callable[[], int | None]:
        """The battery level (percent, None unknown) relaying consults; replaceable while the node runs."""
        return self.relays.battery

    @battery.setter
    def battery(self, source: Callable[[], int | None]) -> None:
        self.relays.battery = source

    # lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._running:
            return
        self._running = True
        self.transmit_queue.start()
        self.radio.open(self.receive)
        if self.beacon_source and self.beacon_interval_s > 0:
            self._beacon_timer = self.clock.call_later(self.rng.uniform(0, self.beacon_interval_s),
                                                       self._send_beacon)

    def stop(self) -> None:
        self._running = False
        self.transmit_queue.stop()
        self.relays.stop()
        for handle in [self._beacon_timer, *(o.timer for o in self._outgoing.values())]:
            if handle is not None:
                handle.cancel()
        self.radio.close()

    # sending ---------------------------------------------------------------------------------------------
    def send(self, destination: int, message: Body, priority: Priority = Priority.ROUTINE) -> int:
        """Send a typed message (split into fragments when long); returns its message id. Unicast messages
        are acknowledged end to end: ``on_status(message_id, delivered)`` reports the outcome."""
        return self.send_raw(destination, message.kind, messages.encode(message), priority)

    def send_raw(self, destination: int, kind: Kind, body: bytes,
                 priority: Priority = Priority.ROUTINE) -> int:
        if destination in (0, self.node_id):
            raise MeshError(f"cannot send to {destination:#x}")
        parts = messages.split(body)
        priority = carried(priority)  # queued, timed and relayed by the class it has on air
        message_id = self.state.next_packet_id()
        self.counters.originated += 1
        if destination != BROADCAST:
            self._open_messages[message_id] = set(range(len(parts)))
        for index, part in enumerate(parts):
            outgoing = _Outgoing(destination, kind, priority, message_id, index, len(parts), part)
            if destination != BROADCAST:
                self._outgoing[(message_id, index)] = outgoing
            self._attempt(outgoing)
        return message_id

    def _attempt(self, out: _Outgoing) -> None:
        out.attempts += 1
        unicast = out.destination != BROADCAST
        last_attempt = out.attempts > self.params.origin_retries

        def build() -> bytes:
            route = self.routes.lookup(out.destination, self.clock.time()) if unicast else None
            next_hop = route.next_hop if route and not last_attempt else 0  # the last attempt floods
            out.routed = next_hop != 0
            return self._seal(out.destination, out.kind, out.priority, out.message_id, out.index, out.count,
                              out.body, want_ack=unicast, next_hop=next_hop)

        on_sent = (lambda length: self._arm_ack_timer(out, length)) if unicast else None
        self.transmit_queue.put_built(frame_length(len(out.body)), build, out.priority, on_sent)

    def _seal(self, destination: int, kind: Kind, priority: Priority, message_id: int, index: int, count: int,
              body: bytes, want_ack: bool, next_hop: int) -> bytes:
        hops = self.params.hop_limit
        header = Header(kind, destination, self.node_id, self.state.next_packet_id(), hops, hops, want_ack,
                        priority, self.key.network_id, next_hop, self._byte)
        self.state.remember(self.node_id, header.packet_id, save=False)  # our own echo is a duplicate
        return seal(Frame(header, message_id, index, count, body), self.key)

    def ack_timeout(self, frame_bytes: int, routed: bool) -> float:
        """Seconds to wait for an end-to-end ACK, from airtimes: every hop there and back, with the
        contention each relay may wait, plus a margin."""
        hops = self.params.hop_limit + 1
        slot = slot_s(self.radio.modulation)
        there_cw = (1 << CW_MIN) if routed else (1 << CW_MAX)
        per_hop = (self.radio.airtime(frame_bytes) + self.radio.airtime(ACK_FRAME_BYTES)
                   + (there_cw + (1 << CW_MIN)) * slot)
        return hops * per_hop + self.params.ack_margin_s

    def _arm_ack_timer(self, out: _Outgoing, frame_bytes: int) -> None:
        if (out.message_id, out.index) not in self._outgoing:
            return  # acknowledged while still on air
        out.timer = self.clock.call_later(self.ack_timeout(frame_bytes, out.routed), self._ack_timeout, out)

    def _ack_timeout(self, out: _Outgoing) -> None:
        if (out.message_id, out.index) not in self._outgoing:
            return
        if out.routed:
            self.routes.failed(out.destination)
        if out.attempts <= self.params.origin_retries:
            self.counters.retries += 1
            self._attempt(out)
            return
        self.counters.gave_up += 1
        del self._outgoing[(out.message_id, out.index)]
        # One lost fragment loses the message: stop retrying its other fragments.
        for index in self._open_messages.pop(out.message_id, set()) - {out.index}:
            sibling = self._outgoing.pop((out.message_id, index), None)
            if sibling is not None and sibling.timer is not None:
                sibling.timer.cancel()
        self._notify(self.on_status, out.message_id, False)

    def _send_beacon(self) -> None:
        if not self._running or self.beacon_source is None:
            return
        if self.channel_utilisation() > POLITE_UTILISATION:
            self.counters.beacons_skipped += 1  # a busy channel needs the airtime more than our status
        else:
            try:
                self.send(BROADCAST, self.beacon_source(), Priority.BACKGROUND)
            except MeshError as exc:
                log.warning("beacon not sent: %s", exc)
        interval = self.beacon_interval_s * self.rng.uniform(0.9, 1.1)
        self._beacon_timer = self.clock.call_later(interval, self._send_beacon)

    # transmit queue --------------------------------------------------------------------------------------
    def queue_depth(self) -> int:
        return self.transmit_queue.depth()

    def idle(self) -> bool:
        """Nothing on air and nothing queued (relays still waiting out their backoff aside)."""
        return not self.transmit_queue.busy and not self.queue_depth()

    def _on_air(self, start: float, airtime: float) -> None:
        self.transmissions.append((start, airtime))
        self._heard.append((start, airtime))

    # receiving -------------------------------------------------------------------------------------------
    def receive(self, raw: bytes, rssi: float = 0.0, snr: float = 0.0) -> None:
        """Handle one frame from the radio. Never raises for anything that came over the air."""
        try:
            self._receive(bytes(raw), rssi, snr)
        except ForgedFrame as exc:
            self.counters.forged += 1
            log.info("dropped frame: %s", exc)
        except ReplayedFrame as exc:
            self.counters.replayed += 1
            log.info("dropped frame: %s", exc)
        except ForeignNetwork:
            self.counters.foreign += 1
        except FrameError as exc:
            self.counters.malformed += 1
            log.debug("dropped frame: %s", exc)

    def _receive(self, raw: bytes, rssi: float, snr: float) -> None:
        now = self.clock.time()
        self._heard.append((now, self.radio.airtime(min(len(raw), 255))))
        header = parse_header(raw)
        frame = open_frame(raw, self.key, header)
        if self.state.is_duplicate(header.source, header.packet_id):
            self.counters.duplicates += 1
            self._overheard(header, now)
            return
        freshness = self.state.freshness(header.source, header.packet_id)
        if freshness is not Freshness.NEW:
            raise ReplayedFrame(f"{header.source:08x}/{header.packet_id} replayed ({freshness.value})")
        self.state.remember(header.source, header.packet_id)
        if header.source == self.node_id:
            return
        self._learn_route(header, now)
        if header.kind is Kind.ACK:
            self._handle_ack(frame, now)
        if header.destination in (self.node_id, BROADCAST) and header.kind is not Kind.ACK:
            self._deliver(frame, rssi, snr, now)
        self.relays.consider(frame, raw, snr)

    def _learn_route(self, header: Header, now: float) -> None:
        if header.relay == self._byte:
            return
        via = header.relay or node_byte(header.source)
        self.routes.learn(header.source, via, header.hops_taken + 1, now)

    def _overheard(self, header: Header, now: float) -> None:
        """Another copy of a frame we already know."""
        if header.source != self.node_id:
            self._learn_route(header, now)
        self.relays.overheard(header, now)

    def _handle_ack(self, frame: Frame, now: float) -> None:
        try:
            ack = messages.decode(Kind.ACK, frame.body)
        except FrameError:
            return
        assert isinstance(ack, Ack)
        header = frame.header
        self.relays.ack_passed(header.destination, ack.message_id, ack.fragment, now)
        if header.destination != self.node_id:
            return
        out = self._outgoing.pop((ack.message_id, ack.fragment), None)
        if out is None:
            return  # a late ACK of an earlier attempt
        if out.timer is not None:
            out.timer.cancel()
        self.routes.confirmed(out.destination, now)
        remaining = self._open_messages.get(ack.message_id)
        if remaining is not None:
            remaining.discard(ack.fragment)
            if not remaining:
                del self._open_messages[ack.message_id]
                if self.on_status:
                    self._notify(self.on_status, ack.message_id, True)

    def _deliver(self, frame: Frame, rssi: float, snr: float, now: float) -> None:
        header = frame.header
        if header.want_ack and header.destination == self.node_id:
            self._send_ack(frame)
        if self.state.was_delivered(header.source, frame.message_id, frame.fragment_index):
            self.counters.duplicate_deliveries_suppressed += 1  # a retry after our ACK was lost
            return
        self.state.mark_delivered(header.source, frame.message_id, frame.fragment_index)
        body = self._reassembler.add(header.source, frame.message_id, frame.fragment_index,
                                     frame.fragment_count, frame.body, now)
        if body is None:
            return
        message = Message(header.source, header.destination, header.kind, header.priority, frame.message_id,
                          body, header.hops_taken, rssi, snr)
        self.counters.delivered += 1
        if header.kind is Kind.BEACON:
            try:
                beacon = message.decoded()
                assert isinstance(beacon, Beacon)
                self.peers[header.source] = PeerStatus(beacon, now, header.hops_taken + 1)
            except FrameError:
                pass
        if self.on_message is not None:
            self._notify(self.on_message, message)

    def _send_ack(self, frame: Frame) -> None:
        header = frame.header
        body = messages.encode(Ack(frame.message_id, frame.fragment_index))
        ack_id = self.state.next_packet_id()

        def build() -> bytes:
            route = self.routes.lookup(header.source, self.clock.time())
            return self._seal(header.source, Kind.ACK, header.priority, ack_id, 0, 1, body, want_ack=False,
                              next_hop=route.next_hop if route else 0)

        self.counters.acks_sent += 1
        delay = self.rng.randrange(1 << CW_MIN) * slot_s(self.radio.modulation)
        self.clock.call_later(delay, self.transmit_queue.put_built, frame_length(len(body)), build, header.priority)

    @staticmethod
    def _notify(callback: Callable[..., None] | None, *args: Any) -> None:
        """Call the application; its bugs are logged, never allowed to break the node's bookkeeping."""
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:
            log.exception("mesh application callback failed")

    # views -----------------------------------------------------------------------------------------------
    def channel_utilisation(self) -> float:
        """Share of the last minutes the channel carried frames this node heard or sent."""
        now = self.clock.time()
        while self._heard and self._heard[0][0] + self._heard[0][1] < now - UTILISATION_WINDOW_S:
            self._heard.popleft()
        return sum(d for _, d in self._heard) / UTILISATION_WINDOW_S

    def _live_peers(self, wanted: Callable[[Beacon], bool]) -> list[int]:
        now = self.clock.time()
        fresh_s = 3 * max(self.beacon_interval_s, 600)
        live = [(p.hops, -p.beacon.battery_pct, n) for n, p in self.peers.items()
                if wanted(p.beacon) and now - p.heard_at < fresh_s]
        return [n for *_, n in sorted(live)]

    def gateways(self) -> list[int]:
        """Nodes whose last beacon reported cellular coverage: nearest first, then fullest battery."""
        return self._live_peers(lambda beacon: beacon.cellular)

    def airtime_allows(self, body_bytes: int, priority: Priority, routine_share: float = 1.0) -> bool:
        """Whether a message of ``body_bytes`` (every fragment) fits the duty cycle now: an emergency within
        the legal allowance, other traffic also within ``routine_share`` of it (a budget for bulk traffic
        that leaves the SMS relays their room)."""
        now = self.clock.time()
        seconds = sum(self.radio.airtime(frame_length(len(part))) for part in messages.split(bytes(body_bytes)))
        if carried(priority).emergency:
            return self.ledger.may_send(now, seconds, True)
        return (self.ledger.may_send(now, seconds, False)
                and self.ledger.used_s(now) + seconds <= routine_share * self.ledger.limit_s)

    def backhauls(self) -> list[int]:
        """Nodes whose last beacon reported a fleet backhaul (their uplink reaches the broker), for
        UplinkHandoff: nearest first, then fullest battery."""
        return self._live_peers(lambda beacon: beacon.backhaul)

    def offload_targets(self) -> list[int]:
        """Nodes whose last beacon reported a bigger model, for OffloadRequest: nearest first."""
        return self._live_peers(lambda beacon: beacon.big_model)

    def status(self) -> dict[str, Any]:
        now = self.clock.time()
        return {
            "node": f"{self.node_id:08x}", "queue_depth": self.queue_depth(),
            "duty_cycle_used": round(self.ledger.utilisation(now), 4),
            "channel_utilisation": round(self.channel_utilisation(), 4),
            "routes": {f"{d:08x}": {"next_hop": r.next_hop, "hops": r.hops}
                       for d, r in self.routes.known(now).items()},
            "counters": vars(self.counters).copy(),
        }
