"""The clock a node runs on: asyncio's event loop in the field, a virtual clock in the simulator.

Both offer ``time()`` and ``call_later(delay, callback, *args)`` returning a handle with ``cancel()``, so
the routing code is the same in both.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any, Protocol


class Handle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def time(self) -> float: ...

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Handle: ...


class _Event:
    __slots__ = ("args", "callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[..., Any], args: tuple):
        self.when, self.callback, self.args, self.cancelled = when, callback, args, False

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock:
    """A discrete-event scheduler: time jumps from one event to the next."""

    def __init__(self, start: float = 0.0):
        self._now = start
        self._queue: list[tuple[float, int, _Event]] = []
        self._order = itertools.count()

    def time(self) -> float:
        return self._now

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> _Event:
        return self.call_at(self._now + max(0.0, delay), callback, *args)

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> _Event:
        event = _Event(max(when, self._now), callback, args)
        heapq.heappush(self._queue, (event.when, next(self._order), event))
        return event

    def run_until(self, end: float) -> None:
        while self._queue and self._queue[0][0] <= end:
            when, _, event = heapq.heappop(self._queue)
            if event.cancelled:
                continue
            self._now = when
            event.callback(*event.args)
        self._now = max(self._now, end)

    def run(self, max_time: float = float("inf")) -> None:
        """Run until no events are left (or ``max_time``)."""
        while self._queue:
            if self._queue[0][0] > max_time:
                break
            when, _, event = heapq.heappop(self._queue)
            if event.cancelled:
                continue
            self._now = when
            event.callback(*event.args)
