"""`evy run` (the daemon) and `evy status` (queue depths, modem state, last error)."""

from __future__ import annotations

import argparse
import logging
import sys

from evy.cli import add_config_option, print_json
from evy.config import load


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run the agent (the systemd service runs this)")
    add_config_option(run)
    run.set_defaults(func=run_agent)
    status = sub.add_parser("status", help="queue depths, modem state and the last error, as JSON")
    add_config_option(status)
    status.set_defaults(func=show_status)


def run_agent(args: argparse.Namespace) -> int:
    from evy.pipeline.runner import run

    config = load(args.config)
    logging.basicConfig(stream=sys.stderr, level=config["log_level"].upper(),
                        format="%(levelname)s %(name)s: %(message)s")
    return run(config)


def show_status(args: argparse.Namespace) -> int:
    from evy.pipeline.runner import database_path
    from evy.store import Store, StoreError, StoreFull
    from evy.store.db import MIN_FREE_BYTES, free_bytes
    from evy.store.report import status

    config = load(args.config)
    path = database_path(config)
    room = free_bytes(path.parent)
    first_boot = _first_boot(path.parent)
    if not path.exists():
        if path.parent.exists() and room < MIN_FREE_BYTES:
            print_json({"store": {"state": f"disk full: {path} cannot be created; the agent answers from memory",
                                  "free_bytes": room, "incidents": []}, **first_boot})
            return 0
        raise StoreError(f"{path}: no database yet (has `evy run` started with this config?)")
    try:
        store = Store.open(path)
    except StoreFull as exc:  # the agent works from memory; what the disk holds is still worth showing
        store = Store.copy_in_memory(path, f"{exc}; the agent answers from memory, figures are from the disk")
    with store:
        print_json({**status(store), **first_boot})
    return 0


FIRST_BOOT_STATUS = "firstboot-status.json"  # written by the image's first boot (overlays/.../firstboot.py)


def _first_boot(data_dir) -> dict:
    """What the image's first boot made of the seed ({"first_boot": {"seed": "applied"|"rejected"|"none",
    "error", "time"}}), when this is a kit; nothing elsewhere."""
    import json

    try:
        return {"first_boot": json.loads((data_dir / FIRST_BOOT_STATUS).read_text(encoding="utf-8"))}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        return {"first_boot": {"seed": "unknown", "error": f"{FIRST_BOOT_STATUS} unreadable: {exc}"}}
