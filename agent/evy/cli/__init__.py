"""The `evy` command line: one module per command group, each with ``register(subparsers)``.

Command modules import their heavy dependencies inside the handler, so `evy --help` stays fast and a
missing optional library only matters to the command that needs it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any, NoReturn

from evy import __version__
from evy.config.core import DEFAULT_PATH
from evy.errors import EvyError

COMMAND_MODULES = (
    "evy.cli.config_cmd",
    "evy.cli.run",
    "evy.cli.sim",
    "evy.cli.pdu",
    "evy.cli.frame",
    "evy.cli.lora",
    "evy.cli.mesh",
    "evy.cli.meshtastic",
    "evy.cli.models",
    "evy.cli.kb",
    "evy.cli.ask",
    "evy.cli.modem",
    "evy.cli.power",
    "evy.cli.cases",
    "evy.cli.bench",
    "evy.cli.evaluate",
    "evy.cli.console",
    "evy.cli.fleet",
    "evy.cli.hq",
)


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line on stderr starting ``error:`` and exit 2, like every other error."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {self.prog}: {message}\n")
        raise SystemExit(2)


CONFIG_HELP = f"agent config file (default {DEFAULT_PATH})"


def add_config_option(parser: argparse.ArgumentParser, help: str = CONFIG_HELP) -> None:
    """The one ``--config FILE`` option of every command that reads the agent's config."""
    parser.add_argument("--config", metavar="FILE", help=help)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="evy", description="EVY: SMS-first offline emergency responder.")
    parser.add_argument("--version", action="version", version=f"evy {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except EvyError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130
