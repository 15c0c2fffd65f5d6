"""The small kit's side of bigEVY: the offload requests it waits on, and which answers may end a wait.

An answer ends a wait only if it names a request this kit is waiting on, comes from the node that was asked
and arrives before the wait's deadline; anything else is dropped and counted. (Frames that fail
authentication never get here: the mesh node drops them first.) :meth:`Pending.expect` and
:meth:`Pending.arrived` run on the mesh thread, :meth:`Pending.wait` on the thread that asked.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from evy.mesh.messages import OffloadResponse


@dataclass
class _Waiting:
    target: int
    deadline: float  # time.monotonic()
    answered: threading.Event = field(default_factory=threading.Event)
    text: str | None = None
    closed: bool = False  # the asker stopped waiting: an answer from now on is late


KEEP_CLOSED_S = 600.0  # how long a finished wait is remembered, so a late answer is told from a wrong one


class Pending:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.dropped: Counter[str] = Counter()  # why answers were dropped: wrong_request, wrong_node, late
        self.asked = 0
        self.in_time = 0  # answers that ended a wait (the brain vets them next)
        self._waiting: dict[int, _Waiting] = {}
        self._lock = threading.Lock()

    def expect(self, request_id: int, target: int, deadline: float) -> None:
        now = self.clock()
        with self._lock:
            for old in [i for i, w in self._waiting.items() if w.closed and w.deadline < now - KEEP_CLOSED_S]:
                del self._waiting[old]
            self._waiting[request_id] = _Waiting(target, deadline)
            self.asked += 1

    def arrived(self, source: int, response: OffloadResponse) -> str | None:
        """Take an answer from the mesh; returns why it was dropped, or None when it ended a wait."""
        now = self.clock()
        with self._lock:
            waiting = self._waiting.get(response.request_id)
            if waiting is None:
                reason, why = "wrong_request", f"answers no request this kit waits on (id {response.request_id})"
            elif source != waiting.target:
                reason, why = "wrong_node", f"from node {source:08x}, not {waiting.target:08x} that was asked"
            elif now > waiting.deadline or waiting.closed or waiting.answered.is_set():
                past = f", {now - waiting.deadline:.1f} s after the deadline" if now > waiting.deadline else ""
                reason, why = "late", f"arrived after the kit stopped waiting{past}"
            else:
                waiting.text = response.text
                waiting.answered.set()
                return None
            self.dropped[reason] += 1
            return why

    def figures(self) -> dict[str, int]:
        """Counts for the kit's health and metrics: questions asked, answers in time, answers dropped."""
        return {"asked": self.asked, "in_time": self.in_time, **self.dropped}

    def undelivered(self, request_id: int) -> None:
        """The mesh gave up delivering the request (no acknowledgement after its retries): stop waiting now."""
        with self._lock:
            waiting = self._waiting.get(request_id)
            if waiting is not None and not waiting.answered.is_set():
                waiting.closed = True
                waiting.answered.set()

    def wait(self, request_id: int) -> str | None:
        """The answer to ``request_id`` if it arrives before the deadline given to :meth:`expect`, else None."""
        with self._lock:
            waiting = self._waiting.get(request_id)
        if waiting is None:
            return None
        waiting.answered.wait(max(0.0, waiting.deadline - self.clock()))
        with self._lock:
            waiting.closed = True
            if waiting.text is not None:
                self.in_time += 1
            return waiting.text
