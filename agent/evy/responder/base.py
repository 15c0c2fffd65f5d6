"""The responder interface the pipeline calls; the deterministic and the AI responder both provide it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, Self

from evy.messages import Inbound, Reply
from evy.triage import Triage

if TYPE_CHECKING:
    from evy.power.resources import ResourceMonitor


class Responder(Protocol):
    """Chosen by name (``responder = "brain" | "basic"``, see :mod:`evy.backends`). ``triaged`` is the
    message's triage when the caller has it already (the conversation triages every message once); a responder
    that needs it and is not given it triages the message itself."""

    @classmethod
    def from_config(cls, config: Any, *, power: ResourceMonitor | None = None, llm: bool = True) -> Self:
        """The responder for ``config``. ``power`` is the kit's monitor, shared and closed by its owner (the
        agent's assembly), never by the responder; ``llm`` False answers without models (no follow-ups)."""

    def respond(self, message: Inbound, triaged: Triage | None = None) -> Reply | None:
        """The immediate answer: deterministic and fast (< 100 ms on a Pi 4). None sends nothing."""

    def follow_up(self, message: Inbound, first: Reply, deadline: float,
                  triaged: Triage | None = None) -> Reply | None:
        """A slower, fuller answer (RAG/LLM) finished before ``deadline`` (time.monotonic()), or None."""

    def warm(self) -> None:
        """Load what the first message would otherwise wait for; returns at once (may start threads)."""

    def close(self) -> None:
        """Release models, indexes and workers; idempotent."""


class OffloadHelper(Protocol):
    """Big nodes on the mesh that answer routine questions with a bigger model (evy.offload; the agent's
    mesh link provides it). The caller vets every answer as it vets its own model's."""

    def available(self) -> bool:
        """Whether a big node announced itself recently (cheap: the first reply calls it)."""

    def ask(self, text: str, *, max_chars: int, deadline: float) -> str | None:
        """The best big node's answer to ``text`` if it arrives before ``deadline`` (time.monotonic()), else
        None; returns at once when no big node is near. Never called for an emergency."""
