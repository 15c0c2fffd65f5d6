"""`evy power`: the battery reading, free memory and the responder's budget, as JSON."""

from __future__ import annotations

import argparse

from evy.cli import add_config_option, print_json
from evy.config import load


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("power", help="battery reading, free memory and what the responder may spend (JSON)")
    add_config_option(parser)
    parser.add_argument("--source", choices=("none", "sysfs", "ina219", "sim"),
                        help="read this source instead of the configured power.source")
    parser.set_defaults(func=show_power)


def show_power(args: argparse.Namespace) -> int:
    from evy.power import ResourceMonitor, open_source

    config = load(args.config)
    if args.source:
        config = config.replace(power__source=args.source)
    monitor = ResourceMonitor(open_source(config), config)  # unlike the agent, a source that fails is an error here
    try:
        resources = monitor.snapshot()
        budget = monitor.budget()
    finally:
        monitor.close()
    print_json({"source": config["power.source"], **resources.to_dict(), "budget": budget.to_dict()})
    return 0
