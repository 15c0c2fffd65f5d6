"""A node's transmit queue: frames wait here for the radio and go on air highest priority first, when the
airtime rules (duty cycle, dwell time) allow and the channel is free (carrier sense with random backoff).

One frame is on air at a time. A frame that can never fit the airtime rules is dropped and its ``on_sent``
still runs, as if it were sent and lost, so the ACK timers and relay bookkeeping waiting on it run their
course. Like the node, the queue does no I/O beyond its radio and clock.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from evy.mesh import messages
from evy.mesh.clock import Clock, Handle
from evy.mesh.dutycycle import AirtimeLedger
from evy.mesh.errors import RadioError
from evy.mesh.frames import HEADER_BYTES, INNER_OVERHEAD, TAG_BYTES, Priority
from evy.mesh.radio.base import Radio
from evy.mesh.routing import CW_MIN, slot_s

log = logging.getLogger(__name__)
RADIO_RETRY_S = 0.25  # after a failed transmit (e.g. the chip still finishing the previous frame)


def frame_length(body_bytes: int) -> int:
    """Bytes on air of a frame carrying ``body_bytes``."""
    return HEADER_BYTES + TAG_BYTES + INNER_OVERHEAD + body_bytes


ACK_FRAME_BYTES = frame_length(messages.ACK_BODY.sizeof())


class TransmitCounts(Protocol):
    """The node's counters this queue keeps."""

    transmissions: int
    airtime_s: float
    deferred_by_duty_cycle: int
    dropped_by_duty_cycle: int
    channel_busy: int


@dataclass(order=True)
class QueuedFrame:
    """A frame waiting for the radio. Frames this node originates are sealed only when they go on air
    (``build``), so packet ids leave in the order they were taken even when priorities reorder the queue:
    receivers' replay windows then never see a long-delayed low id."""

    rank: tuple[int, int]
    length: int = field(compare=False)
    priority: Priority = field(compare=False)
    raw: bytes | None = field(compare=False, default=None)
    build: Callable[[], bytes] | None = field(compare=False, default=None)
    on_sent: Callable[[int], None] | None = field(compare=False, default=None)
    cancelled: bool = field(compare=False, default=False)

    def frame(self) -> bytes:
        if self.raw is None:
            assert self.build is not None
            self.raw = self.build()
        return self.raw


class TransmitQueue:
    def __init__(self, radio: Radio, clock: Clock, ledger: AirtimeLedger, counters: TransmitCounts,
                 rng: random.Random, on_air: Callable[[float, float], None]):
        """``on_air(start, airtime)`` is told of every frame put on air."""
        self.radio, self.clock, self.ledger, self.counters, self.rng = radio, clock, ledger, counters, rng
        self.on_air = on_air
        self.busy = False  # a frame is on air
        self._queue: list[QueuedFrame] = []
        self._order = itertools.count()
        self._timer: Handle | None = None
        self._running = False

    def start(self) -> None:
        self._running = True

    def stop(self) -> None:
        self._running = False
        if self._timer is not None:
            self._timer.cancel()

    def depth(self) -> int:
        return sum(1 for item in self._queue if not item.cancelled)

    def put(self, raw: bytes, priority: Priority, on_sent: Callable[[int], None] | None = None) -> QueuedFrame:
        """Queue a frame ready to go; ``on_sent(length)`` runs once it has left (or was dropped)."""
        return self._push(QueuedFrame((int(priority), next(self._order)), len(raw), priority, raw=raw,
                                      on_sent=on_sent))

    def put_built(self, length: int, build: Callable[[], bytes], priority: Priority,
                  on_sent: Callable[[int], None] | None = None) -> QueuedFrame:
        """Queue a frame of ``length`` bytes that ``build`` seals just before it goes on air."""
        return self._push(QueuedFrame((int(priority), next(self._order)), length, priority, build=build,
                                      on_sent=on_sent))

    def _push(self, item: QueuedFrame) -> QueuedFrame:
        heapq.heappush(self._queue, item)
        if not self.busy:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._pump()
        return item

    def _pump(self) -> None:
        self._timer = None
        if self.busy or not self._running:
            return
        while self._queue and self._queue[0].cancelled:
            heapq.heappop(self._queue)
        if not self._queue:
            return
        item = self._queue[0]
        now, airtime = self.clock.time(), self.radio.airtime(item.length)
        wait = self.ledger.wait_s(now, airtime, item.priority.emergency)
        if self.ledger.band.max_dwell_s is not None and airtime > self.ledger.band.max_dwell_s:
            wait = float("inf")
        if wait == float("inf"):
            heapq.heappop(self._queue)
            self.counters.dropped_by_duty_cycle += 1
            log.warning("frame of %d bytes can never fit the airtime rules; dropped", item.length)
            if item.on_sent is not None:  # as if sent and lost: ACK timers and relay bookkeeping run their course
                item.on_sent(item.length)
            self._pump()
            return
        if wait > 0:
            self.counters.deferred_by_duty_cycle += 1
            self._timer = self.clock.call_later(wait, self._pump)
            return
        if self.radio.channel_busy():
            self.counters.channel_busy += 1
            backoff = (1 + self.rng.randrange(1 << CW_MIN)) * slot_s(self.radio.modulation)
            self._timer = self.clock.call_later(backoff, self._pump)
            return
        heapq.heappop(self._queue)
        self.ledger.check(now, airtime, item.priority.emergency)  # the legal limit, checked once more
        try:
            airtime = self.radio.transmit(item.frame())
        except RadioError as exc:
            log.error("transmit failed: %s", exc)
            heapq.heappush(self._queue, item)
            self._timer = self.clock.call_later(RADIO_RETRY_S, self._pump)
            return
        self.ledger.record(now, airtime)
        self.on_air(now, airtime)
        self.counters.transmissions += 1
        self.counters.airtime_s += airtime
        self.busy = True
        self.clock.call_later(airtime, self._tx_done, item)

    def _tx_done(self, item: QueuedFrame) -> None:
        self.busy = False
        if item.on_sent is not None:
            item.on_sent(item.length)
        self._pump()
