"""`evy run` (the daemon) and `evy status` (queue depths, modem state, last error)."""

from __future__ import annotations

import argparse
import logging
import sys

from evy.cli import print_json
from evy.config import load


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run the agent (the systemd service runs this)")
    run.add_argument("--config", metavar="FILE", help="config file (default /etc/evy/evy.toml)")
    run.set_defaults(func=run_agent)
    status = sub.add_parser("status", help="queue depths, modem state and the last error, as JSON")
    status.add_argument("--config", metavar="FILE", help="config file (default /etc/evy/evy.toml)")
    status.set_defaults(func=show_status)


def run_agent(args: argparse.Namespace) -> int:
    from evy.pipeline.runner import run

    config = load(args.config)
    logging.basicConfig(stream=sys.stderr, level=config["log_level"].upper(),
                        format="%(levelname)s %(name)s: %(message)s")
    return run(config)


def show_status(args: argparse.Namespace) -> int:
    from evy.pipeline.runner import database_path
    from evy.store import Store, StoreError
    from evy.store.report import status

    config = load(args.config)
    path = database_path(config)
    if not path.exists():
        raise StoreError(f"{path}: no database yet (has `evy run` started with this config?)")
    with Store.open(path) as store:
        print_json(status(store))
    return 0
