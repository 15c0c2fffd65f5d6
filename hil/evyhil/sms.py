"""Joining the parts of concatenated SMS into whole messages, as a handset shows them.

"Exactly one reply" means one message on the phone's screen, however many parts carried it.
"""

from __future__ import annotations

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
