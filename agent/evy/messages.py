"""The value types every layer shares: a whole inbound message, a reply, and the one queue priority.

This is the ground floor: it imports nothing from evy, and everything above may import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum


class Priority(IntEnum):
    """Urgency and queue order everywhere (triage, the outbox, the mesh): a lower value is more urgent and
    leaves first. The mesh carries three classes on air; ``evy.mesh.frames`` maps them at the wire."""

    LIFE_THREATENING = 0
    EMERGENCY = 1
    COMMAND = 2
    ROUTINE = 3
    BROADCAST = 4  # an operator's broadcast: after every reply
    BACKGROUND = 5  # mesh beacons: the first to wait

    @property
    def emergency(self) -> bool:
        return self <= Priority.EMERGENCY


@dataclass(frozen=True)
class Inbound:
    """A whole inbound message (multipart already reassembled) as triage sees it."""

    message_id: int
    sender: str
    text: str
    received_at: datetime
    incomplete: bool = False  # some parts never arrived before the multipart timeout


@dataclass(frozen=True)
class Reply:
    """Text to send back. It is compressed into ``max_segments`` SMS once: by the sender, or, when ``fitted``,
    already where it was written (the conversation packs a protocol step around its question)."""

    text: str
    priority: Priority = Priority.ROUTINE
    emergency: bool = False
    category: str | None = None
    sources: tuple[str, ...] = field(default=())
    max_segments: int = 3
    wants_followup: bool = False  # the responder has more to say through follow_up()
    keep: tuple[str, ...] = field(default=())  # what packing must never drop (the emergency number)
    fitted: bool = False  # already compressed into max_segments: the sender only encodes it
