"""`evy modem check|list|explain`: bring-up and field checks of the GSM modem.

`check` and `list` open the configured modem themselves, so stop `evy run` first (one owner per port).
"""

from __future__ import annotations

import argparse

from evy.cli import add_config_option, print_json


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("modem", help="check the GSM modem, list its stored messages, explain an error")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, helptext, func in (
        ("check", "open the modem, print its state as JSON (stop `evy run` first)", check),
        ("list", "print the messages stored on the SIM as JSON, without deleting them", list_stored),
    ):
        action = actions.add_parser(name, help=helptext)
        add_config_option(action)
        action.add_argument("--port", help="serial device, overriding modem.port")
        action.set_defaults(func=func)
    explain = actions.add_parser("explain", help="what a +CMS/+CME ERROR code means and what to do")
    explain.add_argument("kind", choices=("cms", "cme"))
    explain.add_argument("code", type=int)
    explain.set_defaults(func=explain_error)


def _open(args: argparse.Namespace):
    from evy.config import load
    from evy.sms.modem import ModemSettings, open_modem

    settings = ModemSettings.from_config(load(args.config))
    if args.port:
        settings = settings.with_changes(port=args.port)
    return open_modem(settings)


def check(args: argparse.Namespace) -> int:
    modem = _open(args)
    try:
        status = modem.status()
        print_json({
            "backend": modem.settings.backend, "port": modem.settings.port, "profile": modem.settings.profile,
            "identity": getattr(modem, "identity", None), "storage": getattr(modem, "storage", None),
            "capacity": list(getattr(modem, "capacity", None) or []) or None, "cnmi": getattr(modem, "cnmi", None),
            "state": status.state, "registered": status.registered, "signal": status.signal,
            "operator": status.operator, "last_error": status.last_error,
        })
    finally:
        modem.close()
    return 0 if status.state == "ready" else 1


def list_stored(args: argparse.Namespace) -> int:
    modem = _open(args)
    try:
        stored = modem.list_stored()
    finally:
        modem.close()
    print_json([{"location": m.location, "sender": m.message.sender, "text": m.message.text,
                 "timestamp": m.message.timestamp.isoformat() if m.message.timestamp else None,
                 "concat": None if m.message.concat is None else
                 {"ref": m.message.concat.ref, "total": m.message.concat.total, "seq": m.message.concat.seq},
                 "pdu": m.pdu} for m in stored])
    return 0


def explain_error(args: argparse.Namespace) -> int:
    from evy.sms import cms

    cause = cms.describe(args.kind, args.code)
    print_json({"error": f"+{args.kind.upper()} ERROR: {args.code}", "cause": cause.text, "action": cause.action,
                "transient": cause.transient, "category": cause.category})
    return 0
