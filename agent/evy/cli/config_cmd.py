"""`evy config show|check`: the effective configuration, and whether a file is valid."""

from __future__ import annotations

import argparse
import sys

from evy.cli import add_config_option
from evy.config import load
from evy.config.loader import render_markdown, render_toml


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("config", help="show or check the agent's configuration")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, helptext in (("show", "print the effective config as TOML with every default"),
                           ("check", "validate a config file; exit 2 with the first problem")):
        action = actions.add_parser(name, help=helptext)
        add_config_option(action)
        action.set_defaults(func=show if name == "show" else check)
    docs = actions.add_parser("docs", help="print the settings reference (docs/config.md) as Markdown")
    docs.set_defaults(func=lambda args: sys.stdout.write(render_markdown()) and 0)


def show(args: argparse.Namespace) -> int:
    sys.stdout.write(render_toml(load(args.config)))
    return 0


def check(args: argparse.Namespace) -> int:
    config = load(args.config)
    where = config.source or "defaults"
    print(f"ok: {where} (emergency number {config.emergency_number})")
    return 0
