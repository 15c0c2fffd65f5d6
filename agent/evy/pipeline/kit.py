"""A whole kit in one process: the agent on a simulated SIM800 over a real pty, in a background thread.

`evy sim`, the integration tests and the benchmarks use it, so they exercise the same code path as a field
kit: pyserial opens the pty exactly as it opens /dev/ttyS0.
"""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evy.config import Config, parse
from evy.meshtastic import attach as attach_meshtastic
from evy.pipeline.agent import Agent
from evy.responder.base import Responder
from evy.responder.factory import make_responder
from evy.sms.modem import make_modem
from evy.sms.simmodem import SimModem
from evy.sms.simnet import SentMessage
from evy.store import Store, inbox, outbox


@dataclass(frozen=True)
class ReceivedReply:
    """What the phone shows: one whole SMS (parts joined) from the kit."""

    recipient: str
    text: str
    encoding: str
    segments: int
    complete: bool  # every part of it has left
    references: tuple[int, ...] = ()  # the TP-MR of each part, in order: the store links them to the message


def join_replies(sent: list[SentMessage]) -> list[ReceivedReply]:
    """Group sent parts into whole messages, in the order their first part left."""
    groups: dict[tuple[str, int | None], list[SentMessage]] = {}
    for part in sent:
        concat = part.submit.concat
        key = (part.submit.recipient, None if concat is None else concat.ref)
        if concat is None:
            key = (part.submit.recipient, -1 - len(groups))  # every single-part SMS is its own message
        groups.setdefault(key, []).append(part)
    replies = []
    for (recipient, _), parts in groups.items():
        parts.sort(key=lambda p: p.submit.concat.seq if p.submit.concat else 1)
        total = parts[0].submit.concat.total if parts[0].submit.concat else 1
        replies.append(ReceivedReply(recipient, "".join(p.submit.text for p in parts),
                                     str(parts[0].submit.encoding), len(parts), len(parts) >= total,
                                     tuple(p.reference for p in parts)))
    return replies


def kit_config(data_dir: Path, port: str, base: str = "", **overrides: Any) -> Config:
    """A config for a simulated kit: the base TOML, the pty as modem port, fast timings for a pty."""
    config = parse(base).replace(data_dir=str(data_dir), modem__port=port, modem__command_timeout=2.0,
                                 modem__heartbeat=30.0, modem__retry_backoff=0.05)
    return config.replace(**overrides) if overrides else config


class SimulatedKit:
    """Start with ``with SimulatedKit(...) as kit``; ``kit.sim`` is the network, ``kit.agent`` the agent."""

    def __init__(self, base_config: str = "", data_dir: Path | None = None, engine: Responder | None = None,
                 sim: SimModem | None = None, **overrides: Any):
        self._tmp = tempfile.TemporaryDirectory(prefix="evy-kit-") if data_dir is None else None
        self.data_dir = Path(self._tmp.name) if self._tmp else Path(data_dir)
        self.sim = sim or SimModem()
        self._base, self._overrides, self._engine = base_config, overrides, engine
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def __enter__(self) -> SimulatedKit:
        self.sim.start()
        self.config = kit_config(self.data_dir, self.sim.port, self._base, **self._overrides)
        self.store = Store.open(self.data_dir / "evy.db")
        self.modem = make_modem(self.config)
        self.modem.open()
        self.agent = Agent(self.config, self.modem, self.store, self._engine or make_responder(self.config))
        attach_meshtastic(self.agent)
        self.agent.start()
        self._thread = threading.Thread(target=self._loop, name="evy-agent", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        try:
            while not self.agent.stop_event.is_set():
                self.agent.step(max_wait=0.05)
        except BaseException as exc:  # surfaced by the tests through .error
            self.error = exc
            raise

    def __exit__(self, *exc_info: object) -> None:
        self.agent.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.agent.close()
        self.modem.close()
        self.store.close()
        self.sim.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def settled(self, store: Store) -> bool:
        """Nothing left to do: every message handled, no follow-up still being written, nothing queued to send.
        ``store`` is the caller's own connection to this kit's database (a connection stays in its thread)."""
        followups_running = self.agent._followups_running  # only the agent knows a follow-up is on its way
        return not followups_running and not inbox.pending(store, limit=1) and outbox.next_due_time(store) is None

    def replies(self, count: int, timeout: float = 10.0) -> list[ReceivedReply]:
        """Wait until ``count`` whole replies have left (all their parts), then return every reply so far."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            replies = join_replies(list(self.sim.sent))
            complete = [r for r in replies if r.complete]
            if len(complete) >= count:
                return replies
            if self.error is not None:
                raise RuntimeError(f"the agent loop failed: {self.error}") from self.error
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(complete)} of {count} replies left in {timeout:.0f} s")
            time.sleep(0.01)
