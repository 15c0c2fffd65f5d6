"""`evy console`: the operator console (a web app on the kit's access point), and `evy console hash-password`
to make the operator password hash the first-boot seed carries."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from evy.console.auth import ConsoleError


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
    from evy.console.auth import hash_password

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


@contextlib.contextmanager
def beside_simulator(data_dir: Path, base_config: str, port: int, out: TextIO) -> Iterator[None]:
    """`evy sim --console`: the console in its own process on loopback, on the simulated kit's database, with a
    one-time operator password printed for this session."""
    import secrets
    import subprocess
    import time
    import tomllib

    from evy.console.auth import hash_password

    password = secrets.token_urlsafe(9)
    config = tomllib.loads(base_config) if base_config else {}
    config["data_dir"] = str(data_dir)
    config["console"] = {**config.get("console", {}), "listen": ["127.0.0.1"], "port": port,
                         "operator_password_hash": hash_password(password), "refresh_seconds": 2.0}
    path = data_dir / "console.toml"
    path.write_text(_toml(config), encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "evy", "console", "--config", str(path)])
    time.sleep(0.5)
    if process.poll() is not None:
        raise ConsoleError(f"the console did not start (exit {process.returncode}); is port {port} free? "
                           "(--console-port)")
    out.write(f"Console: http://127.0.0.1:{port}/ (account operator, password {password})\n")
    out.flush()
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def _toml(data: dict) -> str:
    import json

    def value(item: object) -> str:
        return json.dumps(item) if not isinstance(item, bool) else str(item).lower()

    lines = [f"{key} = {value(item)}" for key, item in data.items() if not isinstance(item, dict)]
    for name, table in data.items():
        if isinstance(table, dict):
            lines += [f"[{name}]", *(f"{key} = {value(item)}" for key, item in table.items()
                                     if not isinstance(item, dict))]
    return "\n".join(lines) + "\n"
