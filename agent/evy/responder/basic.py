"""The deterministic responder: a short safety template that always names the configured emergency number.

It is the floor every other responder stands on: no model, no index, no I/O, same answer every time.
"""

from __future__ import annotations

from typing import Any, Self

from evy.config import Config
from evy.messages import Inbound, Priority, Reply
from evy.triage import Triage


class BasicResponder:
    def __init__(self, config: Config):
        self.number = config.emergency_number

    @classmethod
    def from_config(cls, config: Config, *, power: Any = None, llm: bool = True) -> Self:
        """The template needs neither the battery budget nor a model."""
        return cls(config)

    def respond(self, message: Inbound, triaged: Triage | None = None) -> Reply:
        text = (f"EVY: message received. If anyone's life is in danger call {self.number} now. "
                "Move away from immediate danger, stay where rescuers can find you, and text your location "
                "and what is happening.")
        return Reply(text=text, priority=Priority.ROUTINE, max_segments=2)

    def follow_up(self, message: Inbound, first: Reply, deadline: float,
                  triaged: Triage | None = None) -> Reply | None:
        return None

    def warm(self) -> None:
        pass

    def close(self) -> None:
        pass
