"""`evy ask TEXT`: run the AI responder on one message without a modem, as the sender would see it."""

from __future__ import annotations

import argparse
import re
import time
from datetime import UTC, datetime

from evy.cli import add_config_option, print_json
from evy.config import load
from evy.messages import Inbound, Priority, Reply
from evy.responder.errors import ResponderError

_SENDER = re.compile(r"^\+?[0-9]{3,20}$")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("ask", help="answer one message with the AI responder, without a modem")
    parser.add_argument("text", nargs="+", metavar="TEXT", help="the message, as the sender would text it")
    parser.add_argument("--from", dest="sender", metavar="NUMBER", default="+10000000000",
                        help="sender's phone number (default +10000000000)")
    add_config_option(parser)
    parser.add_argument("--no-llm", action="store_true",
                        help="protocols only: no knowledge-base or model follow-up")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=ask)


def ask(args: argparse.Namespace) -> int:
    from evy.compress import compress, needs_ucs2
    from evy.responder.brain import BrainResponder
    from evy.triage import triage

    text = " ".join(args.text).strip()
    if not text:
        raise ResponderError("the message text is empty")
    if not _SENDER.match(args.sender):
        raise ResponderError(f"--from: expected a phone number of digits with an optional +, got {args.sender!r}")
    config = load(args.config)
    message = Inbound(message_id=0, sender=args.sender, text=text, received_at=datetime.now(UTC))
    from evy.power import open_monitor

    # The kit's own budget applies here too: on a low battery `evy ask` answers as the kit would.
    brain = BrainResponder(config, llm=not args.no_llm, power=None if args.no_llm else open_monitor(config))
    try:
        first = brain.respond(message)
        follow: Reply | None = None
        if first.wants_followup and brain.knowledge is not None:
            brain.knowledge.wait()  # the first run builds the index: not part of the answer's time budget
            follow = brain.follow_up(message, first, time.monotonic() + config["llm.timeout"])
    finally:
        brain.close()

    keep_ucs2 = needs_ucs2(text)
    language = triage(text).language
    reply = compress(first.text, max_segments=first.max_segments, keep_ucs2=keep_ucs2, language=language)
    later = (compress(follow.text, max_segments=follow.max_segments, keep_ucs2=keep_ucs2, language=language)
             if follow else None)
    sources = list(dict.fromkeys([*first.sources, *(follow.sources if follow else ())]))
    if args.json:
        print_json({
            "emergency": first.emergency,
            "category": first.category,
            "priority": int(first.priority),
            "reply": reply.text,
            "followup": later.text if later else None,
            "segments": reply.segments,
            "encoding": str(reply.encoding),
            "sources": sources,
        })
        return 0
    kind = f"emergency: {first.category}" if first.emergency else f"not an emergency ({first.category or 'general'})"
    print(f"{kind}, priority {int(first.priority)} ({Priority(first.priority).name.lower().replace('_', '-')})")
    print(f"\nreply ({reply.segments} SMS, {reply.encoding}):\n{reply.text}")
    if later:
        print(f"\nfollow-up ({later.segments} SMS, {later.encoding}):\n{later.text}")
    print("\nsources:")
    for source in sources:
        print(f"- {source}")
    return 0
