"""Who gets no answer, and why: the kit itself, short codes, alphanumeric senders, opted-out numbers,
senders over the rate limit and reply loops (operator bounces, repeated identical messages)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from enum import StrEnum

from evy.config import Config
from evy.meshtastic.address import is_node_id
from evy.pipeline.msisdn import home_calling_code, same_subscriber
from evy.store import Store, inbox
from evy.store.optouts import is_opted_out


class Verdict(StrEnum):
    ANSWER = "answer"
    OWN_NUMBER = "ignored: own number"
    SHORT_CODE = "ignored: short code"
    ALPHANUMERIC = "ignored: alphanumeric sender"
    OPTED_OUT = "ignored: opted out"
    RATE_LIMITED = "ignored: rate limit"
    REPLY_LOOP = "ignored: reply loop"
    STOP_REPEATED = "stop: already opted out, not confirmed again"


_DIGITS = re.compile(r"^\+?\d+$")


@dataclass(frozen=True)
class Guards:
    config: Config

    def sender_verdict(self, sender: str) -> Verdict:
        """Checks that depend only on who sent it; they come before STOP/START/HELP."""
        if is_node_id(sender):  # a Meshtastic node (the gateway drops the kit's own node's packets)
            return Verdict.ANSWER
        own = self.config["own_number"]
        country = self.config["country"]
        if own and same_subscriber(sender, own, home_calling_code(country, own), country):
            return Verdict.OWN_NUMBER
        if self.config["guards.ignore_short_codes"]:
            if not _DIGITS.match(sender):
                return Verdict.ALPHANUMERIC
            if len(sender.lstrip("+")) <= 6:
                return Verdict.SHORT_CODE
        return Verdict.ANSWER

    def traffic_verdict(self, store: Store, sender: str, text: str, now: float | None = None, *,
                        honour_opt_out: bool = True) -> Verdict:
        """Checks on what a sender has been sending, for free text and commands alike (STOP excepted)."""
        now = time.time() if now is None else now
        if honour_opt_out and is_opted_out(store, sender):
            return Verdict.OPTED_OUT
        loop_since = now - self.config["guards.loop_window"]
        rate_since = now - self.config["guards.rate_window"]
        history = inbox.recent_from(store, sender, min(loop_since, rate_since))
        normalised = _normalise(text)
        repeats = sum(1 for at, t in history if at >= loop_since and _normalise(t) == normalised)
        if repeats + 1 >= self.config["guards.loop_repeats"]:
            return Verdict.REPLY_LOOP
        if sum(1 for at, _ in history if at >= rate_since) >= self.config["guards.rate_limit"]:
            return Verdict.RATE_LIMITED
        return Verdict.ANSWER


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())
