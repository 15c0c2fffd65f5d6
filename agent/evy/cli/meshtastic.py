"""`evy meshtastic release`: tell the kit's Meshtastic node its client is gone (systemd's ExecStopPost)."""

from __future__ import annotations

import argparse

from evy.cli import add_config_option


def register(sub: argparse._SubParsersAction) -> None:
    meshtastic = sub.add_parser("meshtastic", help="the kit's Meshtastic node")
    actions = meshtastic.add_subparsers(dest="action", metavar="ACTION", required=True)
    release = actions.add_parser("release", help="tell the node the agent is gone, so it keeps what arrives "
                                 "(run after the agent stopped; never while it runs)")
    add_config_option(release)
    release.set_defaults(func=release_node)


def release_node(args: argparse.Namespace) -> int:
    from evy.config import load
    from evy.meshtastic.release import release_node

    print(release_node(load(args.config)))
    return 0
