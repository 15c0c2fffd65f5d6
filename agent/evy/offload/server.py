"""The big node's side of bigEVY: answer routine questions from other kits with the model pinned with role
``offload``, the way a kit's own brain would (same retrieval, same prompt, same vetting).

Promises: an emergency (flagged on air, or read as one by the triage) is never answered, so nobody waits
for a big node in one; each answer is finished before the asking kit's deadline, less the time the answer
needs on air, or not sent; one kit gets at most ``offload.per_kit_per_hour`` answers; requests are answered
one at a time on a worker thread, never on the mesh thread. An answer that fails vetting here is sent empty,
so the asking kit stops waiting and uses its own model at once.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evy.mesh.messages import OffloadRequest, OffloadResponse
from evy.protocols import for_triage
from evy.protocols.library import GENERAL
from evy.responder import vetting
from evy.responder.brain import prompt
from evy.responder.knowledge import Knowledge
from evy.triage import triage

log = logging.getLogger(__name__)

RETURN_MARGIN_S = 3.0  # kept for the answer's way back: two LoRa frames at SF9 and their ACK, with contention
MAX_QUEUED = 4  # requests waiting for the model; more are refused (they would miss their deadline anyway)
HOUR_S = 3600.0
CHARS_PER_TOKEN = 4  # roughly, for Latin-script text: sizes max_tokens to the characters the kit asked for
_SENTENCE = re.compile(r"[^.!?]*[.!?]+(?:\s+|$)")


@dataclass(frozen=True)
class Asked:
    """One request from another kit, as the mesh delivered it."""

    source: int
    request_id: int
    emergency: bool  # its priority class on air
    request: OffloadRequest
    received: float  # time.monotonic()


class OffloadServer:
    """No I/O in the constructor; :meth:`start` opens the model and the index in the background."""

    def __init__(self, config: Any, send: Callable[[int, OffloadResponse], None], *,
                 knowledge: Knowledge | None = None, clock: Callable[[], float] = time.monotonic):
        self.config = config
        self.send = send
        self.clock = clock
        self.knowledge = knowledge or Knowledge(config, model_role="offload")
        self.number = config.emergency_number
        self.answered = 0
        self.refused: dict[str, int] = {}
        self._queue: queue.Queue[Asked | None] = queue.Queue()
        self._recent: dict[int, deque[float]] = {}
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.knowledge.start()
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="evy-offload", daemon=True)
            self._thread.start()

    def figures(self) -> dict[str, int]:
        """Counts for the big node's health and metrics: answers sent, requests refused by reason."""
        return {"answered": self.answered, **{f"refused_{reason}": n for reason, n in self.refused.items()}}

    def ready(self) -> bool:
        """Whether the offload model is open: only then do beacons advertise this node."""
        return self.knowledge.wait(self.clock()) and self.knowledge.has_model

    def submit(self, asked: Asked) -> str | None:
        """Queue a request (called on the mesh thread: returns at once); why it was refused, or None."""
        reason = self._refusal(asked)
        if reason is not None:
            self.refused[reason] = self.refused.get(reason, 0) + 1
            log.info("offload request %d from kit %08x refused: %s", asked.request_id, asked.source, reason)
            return reason
        self._queue.put(asked)
        return None

    def _refusal(self, asked: Asked) -> str | None:
        if asked.emergency:
            return "emergency"  # never: an emergency must not wait for anyone
        if self._queue.qsize() >= MAX_QUEUED:
            return "busy"
        recent = self._recent.setdefault(asked.source, deque())
        while recent and recent[0] <= asked.received - HOUR_S:
            recent.popleft()
        if len(recent) >= self.config["offload.per_kit_per_hour"]:
            return "rate_limited"
        recent.append(asked.received)
        return None

    def deadline(self, asked: Asked) -> float:
        return asked.received + min(asked.request.seconds - RETURN_MARGIN_S, self.config["offload.timeout"])

    def _serve(self) -> None:
        while (asked := self._queue.get()) is not None:
            deadline = self.deadline(asked)
            if self.clock() >= deadline:
                log.info("offload request %d from kit %08x expired in the queue", asked.request_id, asked.source)
                continue
            started = self.clock()
            try:
                text = self.answer(asked.request, deadline)
            except Exception:  # one bad request must not stop the service
                log.exception("offload request %d failed", asked.request_id)
                text = None
            log.info("offload request %d from kit %08x: %s in %.1f s", asked.request_id, asked.source,
                     f"answered ({len(text)} characters)" if text else "no answer", self.clock() - started)
            if self.clock() >= deadline:
                continue  # the kit has stopped waiting: the airtime is better spent on nothing
            self.answered += text is not None
            self.send(asked.source, OffloadResponse(asked.request_id, text or ""))

    def answer(self, request: OffloadRequest, deadline: float) -> str | None:
        """The offload model's vetted answer, or None (an emergency, nothing retrieved, no answer in time, or
        one that fails the vetting a kit's own model answer must pass)."""
        result = triage(request.text)
        if result.emergency:
            return None
        passages = self.knowledge.search(request.text, k=self.config["rag.top_k"], language=result.language,
                                         deadline=deadline)
        if not passages:
            return None
        max_tokens = max(8, min(self.config["llm.max_tokens"], request.max_chars // CHARS_PER_TOKEN))
        answer = self.knowledge.generate(prompt(request.text, result.language, passages), max_tokens=max_tokens,
                                         deadline=deadline)
        if answer is None:
            return None
        text = whole_sentences(vetting.clean(answer), request.max_chars)
        first = for_triage(result.topic, result.category, result.language, self.number).text
        reason = (f"{len(text)} characters, over {request.max_chars}" if len(text) > request.max_chars else
                  vetting.reject_reason(text, language=result.language, first_reply=first,
                                        passages=[p.text for p in passages], emergency_number=self.number,
                                        about=(result.topic or result.category or GENERAL,)))
        if reason:
            log.info("offload answer not sent (%s): %.80r", reason, text)
            return None
        return text

    def close(self) -> None:
        self._queue.put(None)
        self.knowledge.close()


def whole_sentences(text: str, max_chars: int) -> str:
    """The complete sentences at the start of ``text`` that fit ``max_chars``: a model stopped by its token
    limit ends mid-sentence, and a cut sentence may say the opposite of the whole one."""
    kept = ""
    for match in _SENTENCE.finditer(text):
        if match.start() != len(kept) or len(kept) + len(match.group(0).rstrip()) > max_chars:
            break
        kept += match.group(0)
    return kept.strip()
