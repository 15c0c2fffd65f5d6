"""Cases around the responder: every message joins its sender's case and is answered in its light.

The case a message joins is found (or opened) before answering; the case as the answer leaves it is saved
in the same transaction that queues the reply (Agent.queue_reply), so a crash keeps both or neither, and
the message is then answered again from the same case. A case opened just before a crash is simply
joined by the retry, so a crash never makes a second case.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from evy.cases.code import case_code
from evy.cases.dialogue import Turn, next_turn
from evy.cases.state import Case
from evy.compress import compress
from evy.config import Config
from evy.crash import crashpoint
from evy.localinfo import local_answer
from evy.messages import Inbound, Priority, Reply
from evy.responder.base import Responder
from evy.store import Store
from evy.store import cases as case_store
from evy.triage import Triage, triage


@dataclass(frozen=True)
class Answer:
    reply: Reply | None
    case: Case
    triaged: Triage  # the message's one triage, carried on to the follow-up


class Conversation:
    def __init__(self, config: Config, store: Store, responder: Responder):
        self.config = config
        self.store = store
        self.responder = responder
        self.number = config.emergency_number
        self.max_segments = config["brain.max_segments"]

    def case_for(self, sender: str, now: float) -> Case:
        """The sender's open case, or a new one (committed at once: a retry after a crash joins it)."""
        case = case_store.current(self.store, sender, now, self.config["cases.quiet_close"])
        if case is None:
            with self.store.transaction(durable=False) as db:
                case = case_store.open_case(db, sender, now)
            crashpoint("after_case_opened")
        return case

    def answer(self, message: Inbound, now: float | None = None) -> Answer:
        now = time.time() if now is None else now
        case = self.case_for(message.sender, now)
        result = triage(message.text)
        turn = next_turn(case, message.text, result, number=self.number, now=now,
                         reference=self.config["cases.kit_position"])
        local = None if result.emergency or turn.discreet or turn.closed else \
            local_answer(self.store, message.text, result.language, now)
        if turn.text is None:
            reply = self.responder.respond(message, result)
            if reply is not None and local is not None:  # the operator's facts answer a routine question
                reply = replace(reply, text=local, sources=("local information",), wants_followup=False)
            if reply is not None and turn.case.emergency:  # a side question in an emergency keeps its rank
                reply = replace(reply, priority=min(reply.priority, Priority(turn.case.priority)))
            return Answer(reply, turn.case, result)
        if local is not None:  # before a routine reply; never before an emergency's safety text
            turn = replace(turn, text=f"{turn.text}\n{local}" if turn.case.emergency else f"{local}\n{turn.text}")
        text, case = self._fit(turn)
        if turn.fresh_protocol:
            base = self.responder.respond(message, result)
            follow = base is not None and base.wants_followup and not turn.discreet
            template = base or Reply(text)
            return Answer(replace(template, text=text, wants_followup=follow, fitted=True), case, result)
        priority = Priority(case.priority) if case.emergency else Priority.COMMAND
        return Answer(Reply(text, priority=priority, emergency=case.emergency, category=case.category,
                            max_segments=self.max_segments, fitted=True), case, result)

    def _fit(self, turn: Turn) -> tuple[str, Case]:
        """The turn's text packed into the SMS budget, keeping the number and the case code. When packing
        would drop anything, the question goes first and is not counted as asked, so it can come later."""
        def packed(text: str):
            return compress(text, max_segments=self.max_segments, language=turn.case.language,
                            keep=(self.number, case_code(turn.case.id)))

        fitted = packed(turn.text)
        if fitted.dropped == 0 or turn.question is None:
            return fitted.text, turn.case
        key, question = turn.question
        without = packed("\n".join(line for line in turn.text.split("\n") if line != question))
        return without.text, replace(turn.case, asked=tuple(asked for asked in turn.case.asked if asked != key))
