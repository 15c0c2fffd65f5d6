"""`evy hq`: the coordination cell. `run` stores every kit's events; `console` serves the console in fleet
mode on hq.listen; `status`, `cases` and `person` read its database (JSON)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from dataclasses import asdict

from evy.cli import add_config_option, print_json
from evy.config import load


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("hq", help="the coordination cell: every kit's cases in one database")
    commands = parser.add_subparsers(dest="hq_command", metavar="COMMAND", required=True)
    for name, func, text in (("run", run_cell, "subscribe to the fleet and store every event once"),
                             ("status", show_status, "kits (stale or not) and counts (JSON)"),
                             ("cases", show_cases, "every kit's cases, most urgent first (JSON)"),
                             ("downlink", show_downlink, "what kits made of the signed messages sent (JSON)")):
        command = commands.add_parser(name, help=text)
        add_config_option(command)
        command.set_defaults(func=func)
    console = commands.add_parser("console", help="the console in fleet mode: every kit's cases, fleet health, "
                                  "groups, sends to kits (web, on hq.listen)")
    add_config_option(console)
    console.set_defaults(func=run_console)
    person = commands.add_parser("person", help="one sender's cases on every kit (JSON)")
    person.add_argument("sender", help="the phone number, as the kits store it")
    add_config_option(person)
    person.set_defaults(func=show_person)
    send = commands.add_parser("send", help="sign and publish a downlink message to kits (docs/fleet.md)")
    send.add_argument("kind", choices=("localinfo", "broadcast", "protocols", "knowledge", "config"))
    send.add_argument("--to", required=True, help="a kit id, group:<name>, or all")
    send.add_argument("file", help="JSON payload (localinfo, broadcast, config), a protocol library .toml, "
                                   "or a knowledge-base .md")
    send.add_argument("--key", help="the cell's signing key (default: downlink.signing_key)")
    send.add_argument("--language", help="language of a protocols or knowledge file (default: from its name)")
    add_config_option(send)
    send.set_defaults(func=send_downlink)
    keygen = commands.add_parser("keygen", help="make a downlink signing key (PATH) and its pinned line (PATH.pub)")
    keygen.add_argument("path")
    keygen.set_defaults(func=make_key)


def run_cell(args: argparse.Namespace) -> int:
    from evy.hq.db import HqDatabase
    from evy.hq.service import Cell

    config = load(args.config)
    logging.basicConfig(stream=sys.stderr, level=config["log_level"].upper(),
                        format="%(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with HqDatabase(config["hq.database"]) as database:
        cell = Cell(config, database)
        try:
            cell.run(stop)
        finally:
            logging.getLogger("evy.hq").info("stopped: %d events stored, %d duplicates dropped, %d rejected",
                                             cell.stored, cell.duplicates, cell.rejected)
    return 0


def run_console(args: argparse.Namespace) -> int:
    from evy.hq.console import serve

    config = load(args.config)
    logging.basicConfig(stream=sys.stderr, level=config["log_level"].upper(),
                        format="%(levelname)s %(name)s: %(message)s")
    return serve(config)


def _open(args: argparse.Namespace):
    from pathlib import Path

    from evy.hq.db import HqDatabase, HqError

    config = load(args.config)
    if isinstance(config["hq.database"], Path) and not config["hq.database"].exists():
        raise HqError(f"{config['hq.database']}: no cell database yet (has `evy hq run` started?)")
    return config, HqDatabase(config["hq.database"])


def show_status(args: argparse.Namespace) -> int:
    config, database = _open(args)
    with database:
        kits = database.kits(time.time(), config["hq.stale_after"])
        print_json({**database.counts(), "stale": [kit["kit"] for kit in kits if kit["stale"]],
                    "people_on_several_kits": database.people_on_several_kits(), "kit_list": kits})
    return 0


def show_cases(args: argparse.Namespace) -> int:
    _, database = _open(args)
    with database:
        print_json([asdict(case) for case in database.board()])
    return 0


def show_downlink(args: argparse.Namespace) -> int:
    _, database = _open(args)
    with database:
        print_json(database.downlink_outcomes())
    return 0


def show_person(args: argparse.Namespace) -> int:
    _, database = _open(args)
    with database:
        print_json([asdict(case) for case in database.linked(args.sender)])
    return 0


def send_downlink(args: argparse.Namespace) -> int:
    from pathlib import Path

    from evy.downlink.send import send

    config = load(args.config)
    print_json(send(config, args.kind, args.to, Path(args.file), key_path=Path(args.key) if args.key else None,
                    language=args.language))
    return 0


def make_key(args: argparse.Namespace) -> int:
    from evy.downlink.keys import SigningKey

    key = SigningKey.generate()
    key.save(args.path)
    print_json({"key": args.path, "pinned_line": f"{args.path}.pub", "fingerprint": key.fingerprint})
    return 0
