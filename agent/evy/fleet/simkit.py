"""`python -m evy.fleet.simkit --config FILE`: a kit process without a modem, for the fleet tests and the
scale run. It writes case traffic into its own store the way the agent does (the store's triggers queue
the events) and runs the real uplink. Prints one line per state change on stdout: `generated N`, then
`drained` once its queue is empty (with --until-drained it then exits).
"""

from __future__ import annotations

import argparse
import logging
import random
import signal
import sys
import threading
import time

from evy.config import load
from evy.fleet.uplink import start_fleet_uplink
from evy.pipeline.runner import database_path
from evy.store import Store, sample, uplink


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evy.fleet.simkit")
    parser.add_argument("--config", required=True)
    parser.add_argument("--cases", type=int, default=0, help="cases to write (7 events or so each)")
    parser.add_argument("--every", type=float, default=0.0, help="seconds between cases")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--until-drained", action="store_true", help="exit once every event is acknowledged")
    args = parser.parse_args(argv)
    config = load(args.config)
    logging.basicConfig(stream=sys.stderr, level=config["log_level"].upper(),
                        format="%(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    rng = random.Random(args.seed)
    with Store.open(database_path(config)) as store:
        link = start_fleet_uplink(config, store)
        if link is None:
            print("error: fleet uplink not started", file=sys.stderr)
            return 2
        try:
            done = sample_cases(store, args, rng, stop)
            print(f"generated {done}", flush=True)
            while not stop.wait(0.2):
                if uplink.depth(store)["queued"] == 0 and link.acked:
                    print("drained", flush=True)
                    if args.until_drained:
                        break
                    stop.wait()
        finally:
            link.stop()
    return 0


def sample_cases(store: Store, args: argparse.Namespace, rng: random.Random, stop: threading.Event) -> int:
    done = 0
    for index in range(args.cases):
        if stop.is_set():
            break
        sample.conversation(store, f"+2547{args.seed % 1000:03d}{index:05d}", time.time(), rng)
        done += 1
        if args.every:
            stop.wait(args.every)
    return done


if __name__ == "__main__":
    raise SystemExit(main())
