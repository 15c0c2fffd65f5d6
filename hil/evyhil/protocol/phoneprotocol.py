import abc
import time
from dataclasses import dataclass

from ..errors import PhoneTimeout


@dataclass(frozen=True)
class ReceivedSms:
    """An SMS 'the phone' received: a whole message (concatenated parts already joined)."""

    sender: str
    text: str
    received_at: float  # time.monotonic() on the harness host when it was seen


class PhoneProtocol(abc.ABC):
    """'The phone': a handset on the kit's GSM network that texts the kit and reads its replies."""

    @property
    @abc.abstractmethod
    def number(self) -> str:
        """The phone's own number, as the kit sees it as sender."""

    @abc.abstractmethod
    def send(self, to: str, text: str) -> None:
        """Text ``to`` (the kit's number)."""

    @abc.abstractmethod
    def inbox(self) -> list[ReceivedSms]:
        """Every message received since activation or the last :meth:`clear`, oldest first."""

    @abc.abstractmethod
    def clear(self) -> None:
        """Forget the messages received so far."""

    def wait_for(self, count: int, timeout: float, poll: float = 0.5) -> list[ReceivedSms]:
        """Wait until the inbox holds at least ``count`` messages; return the inbox (may hold more)."""
        deadline = time.monotonic() + timeout
        while True:
            messages = self.inbox()
            if len(messages) >= count:
                return messages
            if time.monotonic() >= deadline:
                raise PhoneTimeout(
                    f"phone {self.number}: {len(messages)} of {count} SMS arrived within {timeout:.0f} s"
                )
            time.sleep(poll)
