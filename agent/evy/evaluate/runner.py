"""Answer every case twice: with EVY's full responder as the agent runs it, and with the bare local model.

The pipeline: the configured responder's ``respond()`` (the immediate protocol reply), then ``follow_up()``
with a deadline when the reply asks for one; each text compressed exactly as the agent's sender does
(``evy.compress.as_sent(reply, keep_ucs2=needs_ucs2(message))``). The baseline: the same pinned model
through ``open_runtime(config).generate()`` with a plain system prompt, no retrieval, no templates and no
compression, sent as the model wrote it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from evy.compress import as_sent, needs_ucs2
from evy.config import Config
from evy.evaluate.evalset import Case
from evy.messages import Inbound, Reply
from evy.sms import segments

log = logging.getLogger(__name__)

SENDER = "+254700000000"
WARM_UP_TEXT = "how do i make river water safe to drink"  # a follow-up the model answers; not scored
WARM_UP_SECONDS = 180.0  # first load of the model and of the knowledge-base index
DEADLINE_SLACK = 0.05  # a follow-up that gave up this close to its deadline ran out of time
BASELINE_PROMPT = (
    "You are an emergency assistant answering text messages. Reply in the language of the message with "
    "short, practical first steps. The local emergency number is {number}."
)


@dataclass
class Answer:
    """What one system sent for one case."""

    case: Case
    sms: list[str] = field(default_factory=list)  # each SMS conversation as sent (a reply may span parts)
    segments: list[int] = field(default_factory=list)
    encodings: list[str] = field(default_factory=list)
    first_ms: float | None = None  # time to the first reply (pipeline: respond + compress; model: answer)
    followup_s: float | None = None  # pipeline: follow_up() time, when one was attempted
    followup_sent: bool = False
    timed_out: bool = False  # the deadline passed first (pipeline: the follow-up; model: the answer)
    error: str | None = None
    category: str | None = None  # the pipeline's triage

    @property
    def text(self) -> str:
        return "\n".join(self.sms)

    def add(self, text: str, encoding: str, count: int) -> None:
        self.sms.append(text)
        self.encodings.append(encoding)
        self.segments.append(count)


def _inbound(index: int, text: str) -> Inbound:
    return Inbound(message_id=index, sender=SENDER, text=text, received_at=datetime.now(UTC))


def _fitted(reply: Reply, message_text: str):
    """The reply as the agent's sender queues it (evy.pipeline.sender.Sender.enqueue)."""
    return as_sent(reply, keep_ucs2=needs_ucs2(message_text))


def run_pipeline(config: Config, cases: Iterable[Case], *, llm: bool, timeout: float,
                 progress: Callable[[str], None] = lambda line: None) -> list[Answer]:
    from evy import backends
    from evy.power import open_monitor

    with contextlib.ExitStack() as owned:  # closed in reverse: the responder, then the monitor it reads
        power = open_monitor(config) if llm else None  # as on a kit: the battery and memory budget applies
        if power is not None:
            owned.callback(power.close)
        responder = backends.make("responder", config, power=power, llm=llm)
        owned.callback(responder.close)
        responder.warm()
        warm = _inbound(0, WARM_UP_TEXT)
        first = responder.respond(warm)  # loads what the first message would (lexicons, compression rules)
        if first is not None:
            _fitted(first, WARM_UP_TEXT)
        knowledge = getattr(responder, "knowledge", None)
        if knowledge is not None and first is not None:
            progress("pipeline: opening the knowledge base and the model (built once, not timed)")
            knowledge.wait()
            responder.follow_up(warm, first, time.monotonic() + WARM_UP_SECONDS)
        answers = []
        for index, case in enumerate(cases, 1):
            answers.append(_pipeline_answer(responder, case, index, timeout))
            progress(f"pipeline {index}: {case.id}")
        return answers


def _pipeline_answer(responder, case: Case, index: int, timeout: float) -> Answer:
    message = _inbound(index, case.text)
    answer = Answer(case)
    started = time.perf_counter()
    first = responder.respond(message)
    if first is None:
        answer.error = "no reply"
        return answer
    fitted = _fitted(first, case.text)
    answer.first_ms = (time.perf_counter() - started) * 1000
    answer.category = first.category
    answer.add(fitted.text, str(fitted.encoding), fitted.segments)
    if first.wants_followup:
        started = time.perf_counter()
        follow = responder.follow_up(message, first, time.monotonic() + timeout)
        answer.followup_s = time.perf_counter() - started
        if follow is not None:
            fitted = _fitted(follow, case.text)
            answer.add(fitted.text, str(fitted.encoding), fitted.segments)
            answer.followup_sent = True
        else:  # nothing within the deadline (rather than a vetted-out answer or nothing to add)
            answer.timed_out = answer.followup_s >= timeout - DEADLINE_SLACK
    return answer


@dataclass(frozen=True)
class ModelReply:
    text: str
    ms: float
    timed_out: bool = False
    error: str | None = None


class BareModel:
    """The pinned local model with the baseline's plain system prompt: loaded and warmed up once, then
    asked with a deadline per answer. :meth:`open` gives a one-line reason instead when there is none."""

    def __init__(self, runtime, config: Config):
        self.runtime = runtime
        self.system = BASELINE_PROMPT.format(number=config.emergency_number)
        self.max_tokens = config["llm.max_tokens"]

    @classmethod
    def open(cls, config: Config, progress: Callable[[str], None] = lambda line: None) -> BareModel | str:
        from evy.llm import LlmError, open_runtime

        # The baseline is the pinned model itself, whether or not the agent lets it write follow-ups.
        runtime = open_runtime(config.replace(llm__enabled=True))
        if runtime is None:
            return "no usable local model (see the log line above)"
        model = cls(runtime, config)
        progress("bare model: loading (not timed)")
        try:
            runtime.generate(model.prompt([{"role": "user", "content": WARM_UP_TEXT}]), max_tokens=model.max_tokens,
                             deadline=time.monotonic() + WARM_UP_SECONDS)
        except LlmError as exc:
            runtime.close()
            return f"the model could not answer a warm-up question: {exc}"
        return model

    def prompt(self, thread: list[dict]) -> list[dict]:
        return [{"role": "system", "content": self.system}, *thread]

    def ask(self, thread: list[dict], timeout: float) -> ModelReply:
        """The model's answer to ``thread`` (user and assistant turns, oldest first)."""
        from evy.llm import LlmError, LlmTimeout

        started = time.perf_counter()
        timed_out, error = False, None
        try:
            text = self.runtime.generate(self.prompt(thread), max_tokens=self.max_tokens,
                                         deadline=time.monotonic() + timeout)
        except LlmTimeout as exc:
            text, timed_out = exc.partial, True
        except LlmError as exc:
            text, error = "", str(exc)
        return ModelReply(text.strip(), (time.perf_counter() - started) * 1000, timed_out, error)

    def close(self) -> None:
        self.runtime.close()


def run_baseline(config: Config, cases: Iterable[Case], *, timeout: float,
                 progress: Callable[[str], None] = lambda line: None) -> list[Answer] | str:
    """The bare model's answers, or a one-line reason why there is no model to ask."""
    model = BareModel.open(config, progress)
    if isinstance(model, str):
        return model
    try:
        answers = []
        for index, case in enumerate(cases, 1):
            answer = Answer(case)
            reply = model.ask([{"role": "user", "content": case.text}], timeout)
            answer.first_ms, answer.timed_out, answer.error = reply.ms, reply.timed_out, reply.error
            if reply.text:
                encoding, count = segments.count(reply.text)
                answer.add(reply.text, str(encoding), count)
            answers.append(answer)
            progress(f"bare model {index}: {case.id}")
        return answers
    finally:
        model.close()
