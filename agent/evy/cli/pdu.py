"""`evy pdu decode|encode|count`: the SMS codec from the command line, JSON on stdout."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from evy.cli import print_json


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("pdu", help="decode or encode SMS PDUs (JSON output)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    decode = actions.add_parser("decode", help="decode a PDU as the modem shows it (hex)")
    decode.add_argument("hex", metavar="HEX", help="PDU hex, with the SMSC prefix unless --no-smsc")
    decode.add_argument("--no-smsc", action="store_true", help="the PDU starts at the TPDU (no SMSC prefix)")
    decode.set_defaults(func=run_decode)

    encode = actions.add_parser("encode", help="encode a text as the SMS-SUBMIT parts AT+CMGS sends")
    encode.add_argument("--to", required=True, metavar="NUMBER", help="recipient, '+' for international")
    encode.add_argument("--smsc", metavar="NUMBER", help="SMSC number (default: the SIM's, prefix 00)")
    encode.add_argument("--encoding", choices=("gsm7", "ucs2", "8bit"),
                        help="force an alphabet (default: GSM-7 if the text fits it, else UCS-2)")
    encode.add_argument("--status-report", action="store_true", help="request a delivery report")
    encode.add_argument("--ref", type=int, default=0, metavar="N", help="concatenation reference (0-255)")
    encode.add_argument("text", metavar="TEXT")
    encode.set_defaults(func=run_encode)

    count = actions.add_parser("count", help="how many SMS a text takes, and in which alphabet")
    count.add_argument("text", metavar="TEXT")
    count.set_defaults(func=run_count)


def run_decode(args: argparse.Namespace) -> int:
    from evy.sms import pdu

    print_json(pdu_json(pdu.decode(args.hex, with_smsc=not args.no_smsc)))
    return 0


def run_encode(args: argparse.Namespace) -> int:
    from evy.sms import pdu
    from evy.sms.message import Encoding

    encoding = Encoding(args.encoding) if args.encoding else None
    parts = pdu.encode_submit(args.to, args.text, smsc=args.smsc, encoding=encoding, concat_ref=args.ref,
                              request_status_report=args.status_report)
    print_json({"encoding": str(parts[0].message.encoding), "segments": len(parts),
                "parts": [part.hex for part in parts]})
    return 0


def run_count(args: argparse.Namespace) -> int:
    from evy.sms import gsm7, segments

    encoding, parts = segments.count(args.text)
    print_json({"encoding": str(encoding), "segments": parts, "units": segments.units(args.text, encoding),
                "per_segment": segments.budget(encoding, multipart=parts > 1),
                "non_gsm7": gsm7.non_gsm7_chars(args.text)})
    return 0


def pdu_json(message: Any) -> dict[str, Any]:
    """The CLI's JSON view of a decoded `Deliver`, `Submit` or `StatusReport`."""
    from evy.sms.message import Deliver, StatusReport

    if isinstance(message, Deliver):
        head: dict[str, Any] = {"type": "deliver", "smsc": message.smsc, "sender": message.sender,
                                "timestamp": _iso(message.timestamp)}
    elif isinstance(message, StatusReport):
        head = {"type": "status-report", "smsc": message.smsc, "recipient": message.recipient,
                "timestamp": _iso(message.timestamp)}
    else:
        head = {"type": "submit", "smsc": message.smsc, "recipient": message.recipient, "timestamp": None}
    concat = getattr(message, "concat", None)
    head |= {"encoding": str(message.encoding), "text": message.text,
             "concat": {"ref": concat.ref, "total": concat.total, "seq": concat.seq} if concat else None}
    if isinstance(message, StatusReport):
        head |= {"status": message.status, "reference": message.reference}
    return head


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
