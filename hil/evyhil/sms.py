"""Joining the parts of concatenated SMS into whole messages, as a handset shows them.

"Exactly one reply" means one message on the phone's screen, however many parts carried it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from evy.sms.message import Concat

from .protocol import ReceivedSms


def same_number(a: str, b: str) -> bool:
    """Numbers as the network writes them may differ in the leading '+': compare the digits."""
    return a.lstrip("+") == b.lstrip("+")


@dataclass
class Reassembler:
    """Feed parts in arrival order; :attr:`messages` holds the complete messages, in completion order."""

    messages: list[ReceivedSms] = field(default_factory=list)
    _partial: dict[tuple[str, int, int], dict[int, str]] = field(default_factory=dict)

    def add(self, sender: str, text: str, concat: Concat | None, at: float) -> ReceivedSms | None:
        """Returns the whole message once its last missing part arrived (None while parts are missing)."""
        if concat is None or concat.total <= 1:
            message = ReceivedSms(sender, text, at)
            self.messages.append(message)
            return message
        key = (sender.lstrip("+"), concat.ref, concat.total)
        parts = self._partial.setdefault(key, {})
        parts[concat.seq] = text  # a repeated part replaces itself, as on a handset
        if len(parts) < concat.total:
            return None
        del self._partial[key]
        message = ReceivedSms(sender, "".join(parts[seq] for seq in sorted(parts)), at)
        self.messages.append(message)
        return message

    @property
    def incomplete(self) -> int:
        """Messages of which some parts arrived and some did not (yet)."""
        return len(self._partial)


def _normal(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class Answers:
    """What the phone received, told apart: the kit's answers to messages, and its follow-ups (the second SMS
    the agent sends when its knowledge base adds to the first answer, `brain.followup`)."""

    replies: list[ReceivedSms]
    followups: list[ReceivedSms]

    @property
    def repeated_followups(self) -> list[str]:
        """Follow-up texts that arrived more than once (a follow-up is sent once)."""
        return [text for text, seen in Counter(_normal(m.text) for m in self.followups).items() if seen > 1]


def split_followups(messages: Iterable[ReceivedSms], followup_texts: Iterable[str]) -> Answers:
    """Split by the follow-up texts the kit recorded (its outbox): the phone alone cannot tell a follow-up from
    a second answer, and a duplicate answer must still count as two."""
    known = {_normal(text) for text in followup_texts}
    messages = list(messages)
    return Answers(replies=[m for m in messages if _normal(m.text) not in known],
                   followups=[m for m in messages if _normal(m.text) in known])
