"""The AI responder: triage and a verified protocol at once, then a fuller answer from the knowledge base
and the local model when time and resources allow.

Safety rules it keeps:
- every reply about an emergency names the configured local number (never one a model made up);
- for an emergency (a life threat or not) the follow-up is retrieved knowledge-base text only, never free
  model text;
- a model answer (other questions) is grounded in the retrieved passages only, never in the sender's own
  words, claims no action the kit did not take and names no phone number but the emergency number;
- the reply is in the sender's language, or not sent.

A big node on the mesh (evy.offload) may write a routine follow-up instead of the local model: the kit asks
it only for what the local model would answer, waits no longer than the follow-up allows, and vets its answer
exactly as its own model's. Emergencies never ask and never wait for it.

With a power monitor (evy.power) the follow-up also fits the kit's budget: low battery or memory means
knowledge-base text without the model, a nearly flat battery means the protocol reply alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

from evy.config import Config
from evy.messages import Inbound, Reply
from evy.power import UNLIMITED, Budget, ResourceMonitor
from evy.protocols import for_triage, name_the_number, phrase
from evy.protocols.library import GENERAL
from evy.responder import vetting
from evy.responder.knowledge import Knowledge
from evy.triage import Mentions, Triage, mentions, triage
from evy.triage.language import default_language_model
from evy.triage.lexicon import default_lexicon
from evy.triage.model import default_model

if TYPE_CHECKING:
    from evy.responder.base import OffloadHelper

log = logging.getLogger(__name__)

GSM7_SEGMENT_CHARS = 153  # characters of GSM-7 text per segment of a multipart SMS
EMERGENCY_CANDIDATES = 5  # passages looked at for an emergency: the first ones often restate the protocol
SYSTEM_PROMPT = (
    "You are EVY, an emergency helper answering by SMS where there is no internet. Use only the facts in "
    "the notes. Answer in at most 3 short sentences of concrete steps. Never write a phone number."
)


class BrainResponder:
    """Implements the Responder protocol. ``llm=False`` answers from protocols alone (no follow-ups)."""

    def __init__(self, config: Config, *, llm: bool = True, knowledge: Knowledge | None = None,
                 power: ResourceMonitor | None = None):
        self.config = config
        self.power = power  # None: resources are not watched (tests, `evy ask`); closed by whoever opened it
        self.number = config.emergency_number
        self.max_segments = config["brain.max_segments"]
        self.follow_ups = llm and config["brain.followup"]
        self.knowledge = knowledge if knowledge is not None else (
            Knowledge(config) if self.follow_ups else None)
        self.helper: OffloadHelper | None = None  # a big node on the mesh, set by the agent's assembly

    def offload_to(self, helper: OffloadHelper | None) -> None:
        """Ask ``helper`` (the mesh's big nodes) for routine follow-ups before the local model."""
        self.helper = helper if self.config["offload.ask"] else None

    @classmethod
    def from_config(cls, config: Config, *, power: ResourceMonitor | None = None, llm: bool = True) -> Self:
        # Without follow-ups there is nothing for the battery to limit.
        return cls(config, llm=llm, power=power if llm else None)

    def warm(self) -> None:
        """Load the triage lexicon and the protocols now, and start opening the knowledge base and model
        in the background, so the first emergency does not pay for it. Optional; returns at once."""
        for_triage("cpr", "medical", "en", self.number)
        default_lexicon()
        default_model()
        default_language_model()
        if self.knowledge is not None:
            self.knowledge.start()

    # --- the immediate answer ----------------------------------------------------------------------------

    def respond(self, message: Inbound, triaged: Triage | None = None) -> Reply:
        result = triage(message.text) if triaged is None else triaged
        protocol = for_triage(result.topic, result.category, result.language, self.number)
        return Reply(
            text=protocol.text,
            keep=(self.number,),  # packing into the SMS budget never drops the sentence naming the number
            priority=result.priority,
            emergency=result.emergency,
            category=result.category,
            sources=(f"EVY protocol {protocol.language}/{protocol.key}: {protocol.source}",),
            max_segments=self.max_segments,
            # A discreet reply (violence at home) is the only SMS: a second one could be read by the abuser.
            wants_followup=not protocol.discreet and self._may_follow(result) and self._budget().allow_followup,
        )

    def _may_follow(self, result: Triage) -> bool:
        if not self.follow_ups or result.category in (None, "other"):
            return False  # a greeting or a bare "help": nothing to look up until they say more
        if result.emergency:
            return bool(self.config["rag.enabled"])
        return bool(self.config["rag.enabled"] and (self.config["llm.enabled"] or self._helper_near()))

    def _helper_near(self) -> bool:
        try:
            return self.helper is not None and self.helper.available()
        except Exception:  # the mesh failing must not cost the sender their first reply
            log.exception("offload helper unavailable")
            return False

    # --- the follow-up -----------------------------------------------------------------------------------

    def follow_up(self, message: Inbound, first: Reply, deadline: float,
                  triaged: Triage | None = None) -> Reply | None:
        if not first.wants_followup or self.knowledge is None or time.monotonic() >= deadline:
            return None
        budget = self._budget()  # again: the battery may have dropped since the first reply
        if not budget.allow_followup:
            return None
        result = triage(message.text) if triaged is None else triaged
        emergency = result.emergency or first.emergency
        k = max(self.config["rag.top_k"], EMERGENCY_CANDIDATES) if emergency else self.config["rag.top_k"]
        passages = self.knowledge.search(message.text, k=k, language=result.language, deadline=deadline)
        if emergency or not budget.allow_llm:
            return self._retrieved(message, result, first, passages)
        return self._generated(message, result, first, passages, deadline)

    def _budget(self) -> Budget:
        if self.power is None:
            return UNLIMITED
        try:
            held = self.knowledge.model_memory_mb if self.knowledge is not None else 0
            return self.power.budget(reclaimable_mb=held)
        except Exception:  # a monitor bug must not cost the sender their answer: unknown limits nothing
            log.exception("power budget unavailable; not limiting")
            return UNLIMITED

    def _retrieved(self, message: Inbound, result: Triage, first: Reply, passages: list[Any]) -> Reply | None:
        """An emergency, or no model to spare: the best-ranked passage in the sender's language whose title is
        about something the message is about, and that adds to the protocol already sent (the top hit often
        restates it)."""
        asked = mentions(message.text)
        for passage in passages:
            if passage.language != result.language or not _about(getattr(passage, "title", ""), asked):
                continue
            if vetting.novelty(passage.text, first.text) >= vetting.MIN_NOVELTY:
                text = self._with_number(passage.text, result) if result.emergency else passage.text
                return self._reply(text, first, [passage])
        return None

    def _generated(self, message: Inbound, result: Triage, first: Reply, passages: list[Any],
                   deadline: float) -> Reply | None:
        if not passages:
            return None  # no grounding: a small model alone is not worth an SMS

        def rejected(text: str) -> str | None:
            # The sender's message is no source: an answer repeating what they asked it to say is not grounded.
            return vetting.reject_reason(text, language=result.language, first_reply=first.text,
                                         passages=[p.text for p in passages], emergency_number=self.number,
                                         about=(result.topic or result.category or GENERAL,))

        if self.helper is not None and not (result.emergency or first.emergency):
            offloaded = self._offloaded(message, deadline, rejected)
            if offloaded is not None:
                return self._reply(offloaded, first, passages)
        answer = self.knowledge.generate(prompt(message.text, result.language, passages),
                                         max_tokens=self.config["llm.max_tokens"], deadline=deadline)
        if answer is None:
            return None
        text = vetting.clean(answer)
        reason = rejected(text)
        if reason:
            log.info("model answer not sent (%s): %.80r", reason, text)
            return None
        return self._reply(text, first, passages)

    def _offloaded(self, message: Inbound, deadline: float, rejected: Callable[[str], str | None]) -> str | None:
        """A big node's answer that came in time and passes the vetting a local answer passes, or None. A kit
        with its own model waits at most ``offload.wait`` of the deadline, so its own model still has time."""
        until = deadline
        if self.config["llm.enabled"]:
            until = min(deadline, time.monotonic() + self.config["offload.wait"])
        max_chars = self.max_segments * GSM7_SEGMENT_CHARS
        try:
            answer = self.helper.ask(message.text, max_chars=max_chars, deadline=until)
        except Exception:  # the mesh failing must not cost the sender the local answer
            log.exception("asking a big node failed")
            return None
        if answer is None:
            return None
        text = vetting.clean(answer)
        reason = (f"{len(text)} characters, over the {max_chars} asked for" if len(text) > max_chars
                  else rejected(text))
        if reason:
            log.info("big node's answer not sent (%s): %.80r", reason, text)
            return None
        return text

    def _with_number(self, text: str, result: Triage) -> str:
        text = name_the_number(text, result.language, self.number)  # "call the emergency number" -> "call 999"
        if self.number in text:
            return text
        return f"{text} {phrase('call', result.language, self.number)}"

    def _reply(self, text: str, first: Reply, passages: list[Any]) -> Reply:
        sources = tuple(dict.fromkeys(passage.source for passage in passages))
        return Reply(text=text, priority=first.priority, emergency=first.emergency, category=first.category,
                     sources=sources, max_segments=self.max_segments, keep=(self.number,))

    def close(self) -> None:
        if self.knowledge is not None:
            self.knowledge.close()


def prompt(text: str, language: str, passages: list[Any]) -> list[dict]:
    """The chat a model answers a routine question from: the fixed system prompt first (the model's prefix
    cache reuses it), then the retrieved notes and the message. A big node answering for another kit
    (evy.offload) builds the very same prompt."""
    name = default_lexicon().names.get(language, language)
    notes = "\n".join(f"- {passage.text}" for passage in passages)
    return [{"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": f"Notes:\n{notes}\n\nMessage: {text}\nAnswer in {name}."}]


def _about(title: str, asked: Mentions) -> bool:
    """Whether a passage titled ``title`` is on a subject the message raised: a shared topic, or, when the
    message names no topic, a shared category. A passage body mentions too much to judge by it."""
    told = mentions(title)
    if asked.topics:
        return bool(asked.topics & told.topics)
    return bool(asked.categories & told.categories)
