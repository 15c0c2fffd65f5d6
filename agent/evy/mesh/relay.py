"""Relaying: frames this node passes on for others.

A frame addressed to this node as next hop is relayed at once (after a short random wait) towards its
destination and waited for: hearing the next hop pass it on, or the destination's ACK come back, confirms the
route; silence retries it, then marks the route failed. Any other frame may be flooded on after a delay that
favours far, well-powered nodes (``routing.relay_delay``); hearing a neighbour relay it first cancels ours.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from evy.mesh.clock import Clock, Handle
from evy.mesh.frames import BROADCAST, Frame, Header, Kind, Priority, node_byte, parse_header, reroute
from evy.mesh.keys import NetworkKey
from evy.mesh.radio.base import Radio
from evy.mesh.routing import CW_MIN, RouteTable, RoutingParams, relay_delay, should_flood_relay, slot_s
from evy.mesh.transmit import ACK_FRAME_BYTES, QueuedFrame, TransmitQueue


class RelayCounts(Protocol):
    """The node's counters relaying keeps."""

    relayed: int
    relay_retries: int
    relays_cancelled: int


@dataclass
class RelayWait:
    """A directed relay waiting to hear the next hop pass the frame on (or the ACK come back)."""

    raw: bytes
    destination: int
    next_hop: int
    retries_left: int
    timer: Handle | None = None
    message_key: tuple[int, int, int] | None = None  # (source, message id, fragment) whose ACK confirms it


class Relays:
    def __init__(self, node_id: int, key: NetworkKey, params: RoutingParams, routes: RouteTable, radio: Radio,
                 clock: Clock, rng: random.Random, battery: Callable[[], int | None], counters: RelayCounts,
                 transmit_queue: TransmitQueue):
        self.node_id, self.key, self.params, self.routes = node_id, key, params, routes
        self.radio, self.clock, self.rng, self.battery = radio, clock, rng, battery
        self.counters, self.transmit_queue = counters, transmit_queue
        self._byte = node_byte(node_id)
        # (source, packet id) -> a flood relay waiting out its delay (timer) or queued (frame)
        self._flood: dict[tuple[int, int], tuple[Handle | None, QueuedFrame | None]] = {}
        self._waits: dict[tuple[int, int], RelayWait] = {}
        self._by_message: dict[tuple[int, int, int], tuple[int, int]] = {}

    def stop(self) -> None:
        for handle in [*(w.timer for w in self._waits.values()), *(h for h, _ in self._flood.values())]:
            if handle is not None:
                handle.cancel()

    def pending(self) -> int:
        """Bookkeeping still held: relays waiting to go on air or for their confirmation."""
        return len(self._flood) + len(self._waits) + len(self._by_message)

    def overheard(self, header: Header, now: float) -> None:
        """Another copy of a frame we already know: a neighbour relayed it."""
        key = (header.source, header.packet_id)
        pending = self._flood.pop(key, None) if header.relay != self._byte else None
        if pending is not None:
            timer, item = pending
            if timer is not None:
                timer.cancel()
            if item is not None:
                item.cancelled = True
            self.counters.relays_cancelled += 1
        wait = self._waits.get(key)
        if wait is not None and header.relay == wait.next_hop:
            self._confirmed(key, now)

    def ack_passed(self, source: int, message_id: int, fragment: int, now: float) -> None:
        """An ACK from ``source`` (the destination of a message we relayed) passed: our relay arrived."""
        relay_key = self._by_message.pop((source, message_id, fragment), None)
        if relay_key is not None:
            self._confirmed(relay_key, now)

    def consider(self, frame: Frame, raw: bytes, snr: float) -> None:
        header = frame.header
        if header.destination == self.node_id or header.hop_limit == 0:
            return
        if header.next_hop not in (0, self._byte):
            return  # a directed frame another node is to relay
        key = (header.source, header.packet_id)
        battery = self.battery()
        modulation = self.radio.modulation
        if header.next_hop == self._byte:
            route = self.routes.lookup(header.destination, self.clock.time())
            next_hop = route.next_hop if route and header.destination != BROADCAST else 0
            if next_hop == header.relay:  # our route leads back where the frame came from: a loop, so flood
                next_hop = 0
            out = reroute(raw, header.hop_limit - 1, next_hop, self._byte, self.key)
            delay = self.rng.randrange(1 << CW_MIN) * slot_s(modulation)
            # A frame handed to its destination is confirmed by that node's ACK passing back through us; an
            # ACK handed to its destination is confirmed by nothing we could hear, so it is not waited for.
            final_ack = header.kind is Kind.ACK and next_hop == node_byte(header.destination)
            if next_hop and not final_ack:
                wait = RelayWait(out, header.destination, next_hop, self.params.relay_retries)
                self._waits[key] = wait
                if header.kind is not Kind.ACK:
                    wait.message_key = (header.source, frame.message_id, frame.fragment_index)
                    self._by_message[wait.message_key] = key
            self.clock.call_later(delay, self._relay_now, key, out, header.priority, next_hop != 0)
            return
        if not should_flood_relay(header.priority, battery, self.params):
            return
        out = reroute(raw, header.hop_limit - 1, 0, self._byte, self.key)
        delay = relay_delay(snr, header.priority, battery, self.params, modulation, self.rng)
        timer = self.clock.call_later(delay, self._flood_now, key, out, header.priority)
        self._flood[key] = (timer, None)

    def _flood_now(self, key: tuple[int, int], out: bytes, priority: Priority) -> None:
        if key not in self._flood:
            return  # cancelled: a neighbour relayed first
        self.counters.relayed += 1

        def sent(length: int) -> None:
            self._flood.pop(key, None)

        item = self.transmit_queue.put(out, priority, sent)
        if key in self._flood:  # still queued (not on air yet): may be cancelled until it is
            self._flood[key] = (None, item)

    def _relay_now(self, key: tuple[int, int], out: bytes, priority: Priority, directed: bool) -> None:
        self.counters.relayed += 1
        on_sent = (lambda length: self._arm_wait(key, length)) if directed else None
        self.transmit_queue.put(out, priority, on_sent)

    def _arm_wait(self, key: tuple[int, int], frame_bytes: int) -> None:
        wait = self._waits.get(key)
        if wait is None:
            return
        slot = slot_s(self.radio.modulation)
        timeout = (2 * self.radio.airtime(frame_bytes) + self.radio.airtime(ACK_FRAME_BYTES)
                   + 2 * (1 << CW_MIN) * slot + self.params.ack_margin_s / 2)
        wait.timer = self.clock.call_later(timeout, self._wait_expired, key)

    def _wait_expired(self, key: tuple[int, int]) -> None:
        wait = self._waits.get(key)
        if wait is None:
            return
        if wait.retries_left > 0:
            wait.retries_left -= 1
            self.counters.relay_retries += 1
            priority = parse_header(wait.raw).priority
            self.transmit_queue.put(wait.raw, priority, lambda length: self._arm_wait(key, length))
            return
        del self._waits[key]
        if wait.message_key is not None:
            self._by_message.pop(wait.message_key, None)
        self.routes.failed(wait.destination)

    def _confirmed(self, key: tuple[int, int], now: float) -> None:
        wait = self._waits.pop(key, None)
        if wait is None:
            return
        if wait.timer is not None:
            wait.timer.cancel()
        if wait.message_key is not None:
            self._by_message.pop(wait.message_key, None)
        self.routes.confirmed(wait.destination, now)
