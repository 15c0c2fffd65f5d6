"""`evy sim`: you are the phone. Type a message; the agent answers through a simulated modem on a pty."""

from __future__ import annotations

import argparse
import logging
import sys


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("sim", help="interactive demo: text the agent through a simulated SIM800")
    parser.add_argument("--from", dest="sender", default="+254711000111", metavar="NUMBER",
                        help="the phone number you text from")
    parser.add_argument("--config", metavar="FILE", help="agent config to start from (port and data_dir are "
                        "replaced by the simulator's)")
    parser.add_argument("--country", help="ISO 3166 country code for the emergency number (e.g. KE)")
    parser.add_argument("--responder", choices=("brain", "basic"), help="override the config's responder")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each reply")
    parser.set_defaults(func=run_sim)


def run_sim(args: argparse.Namespace) -> int:
    from pathlib import Path

    from evy.pipeline.kit import SimulatedKit

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    base = Path(args.config).read_text(encoding="utf-8") if args.config else ""
    overrides = {}
    if args.country:
        overrides["country"] = args.country
    if args.responder:
        overrides["responder"] = args.responder
    with SimulatedKit(base, **overrides) as kit:
        print(f"EVY simulator: a SIM800 on {kit.sim.port}; you are {args.sender}. "
              f"Emergency number {kit.config.emergency_number}. Type a message, Ctrl-D to quit.", flush=True)
        seen = 0
        for line in sys.stdin:
            text = line.rstrip("\n")
            if not text.strip():
                continue
            kit.sim.deliver(args.sender, text)
            try:
                replies = kit.replies(seen + 1, timeout=args.timeout)
            except TimeoutError:
                print("(no reply: the guards ignored it or the agent is still thinking)", flush=True)
                continue
            for reply in replies[seen:]:
                print(f"<< [{reply.encoding}, {reply.segments} SMS] {reply.text}", flush=True)
            seen = len(replies)
    return 0
