"""`evy fleet status`: the kit's fleet uplink, as JSON: queued events by topic, the oldest one's age, the
link as the agent last recorded it, and the signed downlink (applied, refused and why)."""

from __future__ import annotations

import argparse
import time

from evy.cli import add_config_option, print_json
from evy.config import load


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("fleet", help="the kit's fleet uplink to the coordination cell")
    commands = parser.add_subparsers(dest="fleet_command", metavar="COMMAND", required=True)
    status = commands.add_parser("status", help="queued events and the broker link (JSON)")
    add_config_option(status)
    status.set_defaults(func=show_status)


def show_status(args: argparse.Namespace) -> int:
    from evy.fleet.uplink import kit_id
    from evy.pipeline.runner import database_path
    from evy.store import Store, StoreError, uplink
    from evy.store import downlink as store_downlink
    from evy.store import health as store_health

    config = load(args.config)
    path = database_path(config)
    if not path.exists():
        raise StoreError(f"{path}: no database yet (has `evy run` started with this config?)")
    now = time.time()
    with Store.open(path) as store:
        depth = uplink.depth(store)
        link = store_health.latest(store, "fleet")
        print_json({
            "enabled": config["fleet.enabled"], "kit": kit_id(config),
            "broker": f"{config['fleet.broker_host']}:{config['fleet.broker_port']}",
            "queued": depth["queued"], "queued_by_topic": depth["by_topic"], "queued_bytes": depth["bytes"],
            "oldest_age_s": None if depth["oldest_at"] is None else round(now - depth["oldest_at"], 1),
            "last_event_seq": uplink.last_seq(store),
            "link": None if link is None else {**link[1], "recorded_age_s": round(now - link[0], 1)},
            "downlink": {"keys_file": config["downlink.keys_file"], "groups": list(config["downlink.groups"]),
                         **store_downlink.summary(store)},
        })
    return 0
