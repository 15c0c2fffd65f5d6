"""`evy sim`: you are the phone. Type a message; the agent answers through a simulated modem on a pty.

Replies are printed as they reach the phone, each under the message it answers: the store links every sent
part (by the TP-MR the modem gave it) to its outbox entry and so to the inbound message, so a follow-up that
arrives after the next message was typed is still shown as the follow-up to its own message.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TextIO

from evy.cli import add_config_option

if TYPE_CHECKING:
    from evy.pipeline.kit import ReceivedReply, SimulatedKit
    from evy.store import Store
    from evy.store.answered import AnsweredMessage

LINK_WAIT = 5.0  # seconds a reply on the phone may wait for the agent to record it as sent
QUOTE_CHARS = 40
KIND_LABEL = {"reply": "answer", "followup": "follow-up", "operator": "operator's reply", "status": "status SMS"}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("sim", help="interactive demo: text the agent through a simulated SIM800")
    parser.add_argument("--from", dest="sender", default="+254711000111", metavar="NUMBER",
                        help="the phone number you text from")
    add_config_option(parser, help="agent config to start from (port and data_dir are replaced by the simulator's)")
    parser.add_argument("--country", help="ISO 3166 country code for the emergency number (e.g. KE)")
    parser.add_argument("--responder", choices=("brain", "basic"), help="override the config's responder")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds to wait, after the last input line, for replies still on their way")
    parser.add_argument("--console", action="store_true",
                        help="open the operator console beside it (http://127.0.0.1:PORT/, password printed)")
    parser.add_argument("--console-port", type=int, default=8080, metavar="PORT")
    parser.add_argument("--meshtastic", action="store_true",
                        help="be a Meshtastic user instead: text the kit's node (a twin on a pty) from yours")
    parser.set_defaults(func=run_sim)


def quoted(text: str) -> str:
    flat = " ".join(text.split())
    return '"' + (flat if len(flat) <= QUOTE_CHARS else flat[:QUOTE_CHARS - 1] + "…") + '"'


class Transcript:
    """A thread that prints each whole reply when it reaches the phone, marked with the message it answers,
    and each message the agent closed without a reply, with the reason."""

    def __init__(self, kit: SimulatedKit, out: TextIO):
        self.kit, self.out = kit, out
        self.accounted: set[int] = set()  # message ids shown answered or unanswered
        self.error: str | None = None
        self._printed = 0
        self._waiting_since: float | None = None
        self._last_unanswered = 0
        self._kit_settled = False
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._thread = threading.Thread(target=self._run, name="evy-sim-transcript", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def wait_settled(self, delivered: int, timeout: float) -> bool:
        """Wait until every delivered message is accounted for and the kit has nothing left to send."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._thread.is_alive():
            self._idle.clear()
            if self._idle.wait(1.0) and len(self.accounted) >= delivered and self._kit_settled:
                return True
        return False

    def _run(self) -> None:
        from evy.store import Store

        with Store.open(self.kit.data_dir / "evy.db") as store:
            while not self._stop.is_set():
                self._print_new(store)
                self._kit_settled = self.kit.settled(store)
                self._idle.set()
                if self.kit.error is not None and self.error is None:
                    self.error = f"the agent stopped: {self.kit.error}"
                    self._say(f"error: {self.error}")
                self._stop.wait(0.05)
            self._print_new(store)

    def _print_new(self, store: Store) -> None:
        from evy.pipeline.kit import join_replies
        from evy.store.answered import answered_by_part, unanswered_after

        replies = join_replies(list(self.kit.sim.sent))
        while self._printed < len(replies) and replies[self._printed].complete:
            reply = replies[self._printed]
            answered = answered_by_part(store, reply.recipient, reply.references[0])
            if answered is None:  # on the phone before the agent recorded it: give the agent a moment
                self._waiting_since = self._waiting_since or time.monotonic()
                if time.monotonic() - self._waiting_since < LINK_WAIT:
                    break
            self._waiting_since = None
            self._print_reply(reply, answered)
            self._printed += 1
        for message in unanswered_after(store, self._last_unanswered):
            self._say(f"(#{message.message_id} {quoted(message.text)} not answered: {message.verdict})")
            self.accounted.add(message.message_id)
            self._last_unanswered = message.message_id

    def _print_reply(self, reply: ReceivedReply, answered: AnsweredMessage | None) -> None:
        if answered is None:
            header = "<< a reply the agent has no record of"
        elif answered.message_id is None:
            header = "<< relayed for another kit"
        else:
            kind = answered.kind.partition(":")[0]  # the console's kinds carry its action key: operator:KEY
            header = f"<< {KIND_LABEL.get(kind, kind)} to #{answered.message_id} " \
                     f"{quoted(answered.message_text or '')}"
            self.accounted.add(answered.message_id)
        body = "\n".join(f"   {line}" for line in reply.text.splitlines() or [""])
        self._say(f"{header} [{reply.encoding}, {reply.segments} SMS]\n{body}")

    def _say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()


def run_sim(args: argparse.Namespace) -> int:
    from pathlib import Path

    from evy.pipeline.kit import SimulatedKit

    if args.meshtastic:
        from evy.meshtastic.simulate import run_meshtastic_sim

        return run_meshtastic_sim(args)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    base = Path(args.config).read_text(encoding="utf-8") if args.config else ""
    overrides = {}
    if args.country:
        overrides["country"] = args.country
    if args.responder:
        overrides["responder"] = args.responder
    with SimulatedKit(base, **overrides) as kit, contextlib.ExitStack() as beside:
        if args.console:
            from evy.cli.console import beside_simulator

            beside.enter_context(beside_simulator(kit.data_dir, base, args.console_port, sys.stdout))
        print(f"EVY simulator: a SIM800 on {kit.sim.port}; you are {args.sender}. "
              f"Emergency number {kit.config.emergency_number}. Type a message, Ctrl-D to quit. "
              "Replies appear as they arrive, marked with the number of the message they answer.", flush=True)
        transcript = Transcript(kit, sys.stdout)
        transcript.start()
        delivered, stamp = 0, datetime.min.replace(tzinfo=UTC)
        try:
            for line in sys.stdin:
                text = line.rstrip("\n")
                if text.strip():
                    # Its own SMSC second for each message: the store takes the same text from the same phone
                    # with the same timestamp for a part read twice, and pasted lines come faster than that.
                    stamp = max(datetime.now(UTC).replace(microsecond=0), stamp + timedelta(seconds=1))
                    kit.sim.deliver(args.sender, text, timestamp=stamp)
                    delivered += 1
            if not transcript.wait_settled(delivered, args.timeout):
                print(f"(gave up waiting for replies after {args.timeout:.0f} s)", flush=True)
        finally:
            transcript.stop()
    return 1 if transcript.error else 0
