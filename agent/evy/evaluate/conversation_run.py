"""Play each scripted conversation to EVY as a phone would, and to the bare model as a chat thread.

EVY: a whole kit in this process (:class:`evy.pipeline.kit.SimulatedKit`: the agent as `evy run` builds it,
on the simulated SIM800 over a pty), one phone number per conversation. Each turn is delivered as an SMS;
the next waits until the kit has handled it and has nothing left to send (follow-ups included), so what
the phone received for the turn, the SMS parts it took and the case as the store keeps it are all real.
STOP, SAFE and STATUS go through the agent's own command and case handling.

The bare model: the same pinned model and plain prompt as the single-message baseline
(:class:`evy.evaluate.runner.BareModel`), given the conversation so far as user and assistant turns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from evy.cases.code import case_code
from evy.evaluate.conversation_set import Conversation
from evy.evaluate.errors import EvalError
from evy.evaluate.runner import WARM_UP_TEXT, BareModel
from evy.sms import segments

TURN_WAIT = 60.0  # seconds a turn may take to be handled and sent, follow-up included (the agent's budget is 20)
SETTLE_POLL = 0.02
# The kit looks settled for an instant between a finished follow-up leaving the agent's count and its reply
# being queued; settled this long, it is.
SETTLED_FOR = 0.25


@dataclass
class TurnReply:
    """What the phone received for one turn."""

    messages: list[str] = field(default_factory=list)  # whole SMS messages (parts joined), in order
    segments: int = 0  # SMS parts they took
    ms: float = 0.0  # from delivery to the last part sent (EVY) or the whole answer (model)
    step: str | None = None  # EVY: the case's protocol step after the turn
    asked: tuple[str, ...] = ()  # EVY: question keys the case recorded as asked on this turn
    case: str | None = None  # EVY: the case code the turn joined
    timed_out: bool = False
    error: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.messages)


@dataclass
class Transcript:
    conversation: Conversation
    turns: list[TurnReply] = field(default_factory=list)


def sender_for(index: int) -> str:
    return f"+2547{index:08d}"


def run_pipeline(base: str, overrides: dict[str, Any], conversations: Iterable[Conversation], *,
                 progress: Callable[[str], None] = lambda line: None) -> list[Transcript]:
    """Every conversation through one simulated kit built from ``base`` (config TOML) and ``overrides``."""
    from evy.pipeline.kit import SimulatedKit
    from evy.store import Store

    with SimulatedKit(base, **overrides) as kit, Store.open(kit.data_dir / "evy.db") as store:
        progress("pipeline: the kit is up; a warm-up message first (not scored)")
        _play(kit, store, "+254799999999", [WARM_UP_TEXT], stamp=datetime.now(UTC))
        transcripts = []
        for index, conversation in enumerate(conversations, 1):
            replies = _play(kit, store, sender_for(index), [turn.text for turn in conversation.turns],
                            stamp=datetime.now(UTC))
            transcripts.append(Transcript(conversation, replies))
            progress(f"pipeline {index}: {conversation.id}")
        return transcripts


def _play(kit, store, sender: str, texts: list[str], *, stamp: datetime) -> list[TurnReply]:
    from evy.pipeline.kit import join_replies
    from evy.store import cases as case_store
    from evy.store import inbox

    replies = []
    for number, text in enumerate(texts, 1):
        before_case = case_store.latest_for(store, sender)
        sent_before = len(kit.sim.sent)
        # Its own SMSC second for each message: the store takes the same text from the same phone with the
        # same timestamp for a part read twice.
        stamp = max(datetime.now(UTC).replace(microsecond=0), stamp + timedelta(seconds=1))
        started = time.perf_counter()
        kit.sim.deliver(sender, text, timestamp=stamp)
        reply = TurnReply()
        deadline = time.monotonic() + TURN_WAIT
        quiet_since: float | None = None
        while True:
            if kit.error is not None:
                raise EvalError(f"the simulated kit stopped: {kit.error}")
            now = time.monotonic()
            if len(inbox.recent_from(store, sender, 0)) >= number and kit.settled(store):
                quiet_since = now if quiet_since is None else quiet_since
                if now - quiet_since >= SETTLED_FOR:
                    break
            else:
                quiet_since = None
            if now > deadline:
                reply.timed_out = True
                break
            time.sleep(SETTLE_POLL)
        reply.ms = (time.perf_counter() - started) * 1000
        for whole in join_replies([part for part in list(kit.sim.sent)[sent_before:]
                                   if part.submit.recipient == sender]):
            reply.messages.append(whole.text)
            reply.segments += whole.segments
        case = case_store.latest_for(store, sender)
        if case is not None:
            asked_before = before_case.asked if before_case is not None and before_case.id == case.id else ()
            reply.step, reply.case = case.step, case_code(case.id)
            reply.asked = tuple(key for key in case.asked if key not in asked_before)
        replies.append(reply)
    return replies


def run_bare_model(config, conversations: Iterable[Conversation], *, timeout: float,
                   progress: Callable[[str], None] = lambda line: None) -> list[Transcript] | str:
    """The bare model's side of every conversation, or a one-line reason why there is no model to ask."""
    model = BareModel.open(config, progress)
    if isinstance(model, str):
        return model
    try:
        transcripts = []
        for index, conversation in enumerate(conversations, 1):
            thread: list[dict] = []
            transcript = Transcript(conversation)
            for turn in conversation.turns:
                thread.append({"role": "user", "content": turn.text})
                answer = model.ask(thread, timeout)
                reply = TurnReply(ms=answer.ms, timed_out=answer.timed_out, error=answer.error)
                if answer.text:
                    thread.append({"role": "assistant", "content": answer.text})
                    reply.messages.append(answer.text)
                    reply.segments = segments.count(answer.text)[1]
                transcript.turns.append(reply)
            transcripts.append(transcript)
            progress(f"bare model {index}: {conversation.id}")
        return transcripts
    finally:
        model.close()
