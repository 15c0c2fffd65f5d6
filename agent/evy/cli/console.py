"""`evy console`: the operator console (a web app on the kit's access point), and `evy console hash-password`
to make the operator password hash the first-boot seed carries."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("console", help="operator console: cases board, replies, statuses, map, export (web)")
    parser.add_argument("--config", metavar="FILE", help="config file (default /etc/evy/evy.toml)")
    parser.add_argument("--listen", action="append", metavar="ADDRESS",
                        help="listen on this address instead of console.listen (repeat for more)")
    parser.add_argument("--port", type=int, help="TCP port instead of console.port")
    parser.set_defaults(func=run_console)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    hashing = actions.add_parser("hash-password", help="print the argon2id hash of a password (read from the "
                                 "terminal, or one line of standard input) for the seed's [console] section")
    hashing.set_defaults(func=hash_password)


def hash_password(args: argparse.Namespace) -> int:
    from evy.console.auth import ConsoleError, hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("Operator password: ")
        if getpass.getpass("Again: ") != password:
            raise ConsoleError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 10:
        raise ConsoleError("use at least 10 characters: the console is reachable by anyone on the kit's Wi-Fi")
    print(hash_password(password))
    return 0


def run_console(args: argparse.Namespace) -> int:
    from evy.config import load
    from evy.console.server import serve
    from evy.console.settings import addresses
    from evy.errors import ConfigError
    from evy.pipeline.runner import database_path

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    config = load(args.config)
    listen = None
    if args.listen:
        try:
            listen = addresses(args.listen)
        except ValueError as exc:
            raise ConfigError(f"--listen: {exc}") from None
    return serve(config, database_path(config), addresses=listen, port=args.port)
