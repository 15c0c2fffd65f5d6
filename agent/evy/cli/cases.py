"""`evy cases list|show|export`: the kit's cases from its database, for an operator at the console port."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from evy.cli import add_config_option, print_json


def register(sub: argparse._SubParsersAction) -> None:
    cases = sub.add_parser("cases", help="cases: one per conversation (list, show, export as CSV or GeoJSON)")
    actions = cases.add_subparsers(dest="action", metavar="ACTION", required=True)

    def filters(parser: argparse.ArgumentParser) -> None:
        add_config_option(parser)
        parser.add_argument("--status", metavar="S,S", help="only these statuses (new, acknowledged, dispatched, "
                            "resolved, closed); default: the open ones")
        parser.add_argument("--all", action="store_true", help="every status")
        parser.add_argument("--category", help="only this category (medical, fire, ...)")
        parser.add_argument("--hours", type=float, help="only cases updated in the last HOURS hours")

    listing = actions.add_parser("list", help="open cases, most urgent first, then oldest")
    filters(listing)
    listing.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    listing.set_defaults(func=list_cases)
    show = actions.add_parser("show", help="one case and its whole thread")
    show.add_argument("case", help="the case code (K7Q3) or number")
    add_config_option(show)
    show.add_argument("--json", action="store_true", help="JSON instead of text")
    show.set_defaults(func=show_case)
    export = actions.add_parser("export", help="cases as CSV (with HXL hashtags) or GeoJSON")
    filters(export)
    export.add_argument("--format", choices=("csv", "geojson"), default="csv")
    export.add_argument("--output", "-o", type=Path, help="file to write (default: standard output)")
    export.set_defaults(func=export_cases)


def _open_store(config_path: str | None):
    from evy.config import load
    from evy.pipeline.runner import database_path
    from evy.store import Store, StoreError

    path = database_path(load(config_path))
    if not path.exists():
        raise StoreError(f"{path}: no database yet (has `evy run` started with this config?)")
    return Store.open(path)


def _selected(store, args: argparse.Namespace):
    from evy.cases.state import OPEN_STATUSES, Status
    from evy.errors import EvyError
    from evy.store import cases

    statuses = None if args.all else OPEN_STATUSES
    if args.status:
        try:
            statuses = [Status(name.strip()) for name in args.status.split(",")]
        except ValueError:
            raise EvyError(f"--status {args.status!r}: use {', '.join(str(s) for s in Status)}") from None
    since = None if args.hours is None else time.time() - args.hours * 3600
    return cases.board(store, statuses=statuses, category=args.category, since=since, limit=100_000)


def list_cases(args: argparse.Namespace) -> int:
    from evy.cases.code import case_code
    from evy.store import cases

    with _open_store(args.config) as store:
        found = _selected(store, args)
        activity = cases.activity(store, [case.id for case in found])
    now = time.time()
    if args.json:
        for case in found:
            print_json({"case": case_code(case.id), "status": str(case.status), "category": case.category,
                        "protocol": case.topic, "priority": case.priority, "emergency": case.emergency,
                        "sender": case.sender, "location": case.location_text, "latitude": case.latitude,
                        "longitude": case.longitude, "people": case.people, "opened_at": case.opened_at,
                        "updated_at": case.updated_at,
                        "last_message": activity.get(case.id).last_text if case.id in activity else None})
        return 0
    print(f"{'case':<6} {'status':<13} {'category':<15} {'age':>6} {'where':<24} last message")
    for case in found:
        last = activity[case.id].last_text if case.id in activity else ""
        age = f"{int((now - case.opened_at) // 60)}m"
        print(f"{case_code(case.id):<6} {case.status!s:<13} {case.category or '-':<15} {age:>6} "
              f"{(case.location_text or 'unknown')[:24]:<24} {(last or '')[:60]}")
    return 0


def show_case(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from evy.cases.code import case_code, case_id
    from evy.errors import EvyError
    from evy.store import cases

    number = int(args.case) if args.case.isdigit() else case_id(args.case)
    with _open_store(args.config) as store:
        case = cases.get(store, number) if number else None
        if case is None:
            raise EvyError(f"no case {args.case!r}")
        thread = cases.thread(store, case.id)
    if args.json:
        print_json({**asdict(case), "status": str(case.status), "case": case_code(case.id),
                    "thread": [asdict(entry) for entry in thread]})
        return 0
    print(f"Case {case_code(case.id)} ({case.status}) from {case.sender}: {case.category or 'no category'}"
          f"{' / ' + case.topic if case.topic else ''}, priority {case.priority}")
    print(f"Location: {case.location_text or 'unknown'}"
          + (f" ({case.latitude}, {case.longitude})" if case.latitude is not None else "")
          + (f"; {case.people} people" if case.people else ""))
    for entry in thread:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(entry.at))
        arrow = "<-" if entry.direction == "in" else "->"
        print(f"{when} {arrow} {entry.text}")
    return 0


def export_cases(args: argparse.Namespace) -> int:
    from evy.cases import export
    from evy.store import cases

    with _open_store(args.config) as store:
        found = _selected(store, args)
        last = {case_id: item.last_text for case_id, item in cases.activity(store, [c.id for c in found]).items()}
    text = export.to_csv(found, last) if args.format == "csv" else export.geojson_text(found, last) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0
