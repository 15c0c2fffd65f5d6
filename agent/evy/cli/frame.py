"""`evy frame decode`: authenticate and decode one mesh frame from the shell, offline."""

from __future__ import annotations

import argparse
from pathlib import Path

from evy.cli import print_json


def register(sub: argparse._SubParsersAction) -> None:
    frame = sub.add_parser("frame", help="decode mesh frames")
    frame_actions = frame.add_subparsers(dest="action", metavar="ACTION", required=True)
    decode = frame_actions.add_parser("decode", help="authenticate and decode one frame given in hex")
    decode.add_argument("hex", help="the frame as hex digits (spaces and colons allowed)")
    decode.add_argument("--key", required=True, metavar="FILE", help="network key file")
    decode.add_argument("--state", metavar="FILE",
                        help="replay state (JSON) kept across invocations: a frame decoded before is rejected")
    decode.set_defaults(func=frame_decode)


def frame_decode(args: argparse.Namespace) -> int:
    from evy.cli.meshnode import message_json
    from evy.mesh import frames, messages
    from evy.mesh.errors import MalformedFrame, ReplayedFrame
    from evy.mesh.keys import NetworkKey
    from evy.mesh.state import Freshness, NodeState

    key = NetworkKey.load(args.key)
    text = args.hex.replace(" ", "").replace(":", "").removeprefix("0x")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise MalformedFrame("frame is not valid hex") from None
    frame = frames.open_frame(raw, key)
    state = NodeState(Path(args.state)) if args.state else None
    header = frame.header
    if state is not None:
        freshness = state.freshness(header.source, header.packet_id)
        if freshness is not Freshness.NEW:
            raise ReplayedFrame(f"frame {header.source:08x}/{header.packet_id} replayed ({freshness.value})")
        state.remember(header.source, header.packet_id)
    result = frames.describe(frame)
    if frame.fragment_count == 1:
        result["message"] = message_json(messages.decode(header.kind, frame.body))
    print_json(result)
    return 0
