"""The responder interface the pipeline calls; the deterministic and the AI responder both provide it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Protocol


class Priority(IntEnum):
    """Queue order everywhere: a lower value leaves first."""

    LIFE_THREATENING = 0
    EMERGENCY = 1
    COMMAND = 2
    ROUTINE = 3


@dataclass(frozen=True)
class Inbound:
    """A whole inbound message (multipart already reassembled) as the router sees it."""

    message_id: int
    sender: str
    text: str
    received_at: datetime
    incomplete: bool = False  # some parts never arrived before the multipart timeout


@dataclass(frozen=True)
class Reply:
    """Text to send back, uncompressed; the pipeline compresses it into the SMS budget."""

    text: str
    priority: Priority = Priority.ROUTINE
    emergency: bool = False
    category: str | None = None
    sources: tuple[str, ...] = field(default=())
    max_segments: int = 3
    wants_followup: bool = False  # the responder has more to say through follow_up()


class Responder(Protocol):
    def respond(self, message: Inbound) -> Reply | None:
        """The immediate answer: deterministic and fast (< 100 ms on a Pi 4). None sends nothing."""

    def follow_up(self, message: Inbound, first: Reply, deadline: float) -> Reply | None:
        """A slower, fuller answer (RAG/LLM) finished before ``deadline`` (time.monotonic()), or None."""

    def warm(self) -> None:
        """Load what the first message would otherwise wait for; returns at once (may start threads)."""

    def close(self) -> None:
        """Release models, indexes and workers; idempotent."""
