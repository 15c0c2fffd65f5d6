"""`evy frame decode`, `evy lora airtime` and `evy mesh keygen|sim`: the LoRa mesh from the shell, offline.

The commands that run this kit's node (`evy mesh run|send|listen|status`) are in :mod:`evy.cli.meshnode`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from evy.cli import print_json
from evy.cli.meshnode import register_node_actions


def register(sub: argparse._SubParsersAction) -> None:
    frame = sub.add_parser("frame", help="decode mesh frames")
    frame_actions = frame.add_subparsers(dest="action", metavar="ACTION", required=True)
    decode = frame_actions.add_parser("decode", help="authenticate and decode one frame given in hex")
    decode.add_argument("hex", help="the frame as hex digits (spaces and colons allowed)")
    decode.add_argument("--key", required=True, metavar="FILE", help="network key file")
    decode.add_argument("--state", metavar="FILE",
                        help="replay state (JSON) kept across invocations: a frame decoded before is rejected")
    decode.set_defaults(func=frame_decode)

    lora = sub.add_parser("lora", help="LoRa radio calculations")
    lora_actions = lora.add_subparsers(dest="action", metavar="ACTION", required=True)
    airtime = lora_actions.add_parser("airtime", help="exact time on air of one frame (Semtech AN1200.13)")
    _modulation_args(airtime, required=True)
    airtime.add_argument("--payload", type=int, required=True, metavar="BYTES", help="payload length 0..255")
    airtime.add_argument("--implicit-header", action="store_true", help="implicit header mode")
    airtime.add_argument("--no-crc", action="store_true", help="payload CRC off")
    airtime.add_argument("--ldro", choices=("auto", "on", "off"), default="auto",
                         help="low-data-rate optimisation (auto: on when a symbol lasts ≥ 16 ms)")
    airtime.set_defaults(func=lora_airtime)

    mesh = sub.add_parser("mesh", help="the LoRa mesh between kits")
    actions = mesh.add_subparsers(dest="action", metavar="ACTION", required=True)
    keygen = actions.add_parser("keygen", help="write a new random network key file (never overwrites)")
    keygen.add_argument("file")
    keygen.set_defaults(func=mesh_keygen)

    sim = actions.add_parser("sim", help="simulate a mesh on a virtual clock (planning tool)")
    sim.add_argument("--nodes", type=int, default=12)
    sim.add_argument("--topology", choices=("line", "star", "grid", "random"), default="grid")
    sim.add_argument("--loss", type=float, default=0.1, help="loss probability per link and frame")
    sim.add_argument("--messages", type=int, default=40, help="unicast SMS-relay messages between random nodes")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--interval", type=float, default=30.0, help="seconds between messages")
    sim.add_argument("--payload", type=int, default=120, help="characters per message")
    sim.add_argument("--hop-limit", type=int, default=3)
    sim.add_argument("--retries", type=int, default=3)
    sim.add_argument("--beacon-interval", type=float, default=900.0, help="0 turns status beacons off")
    sim.add_argument("--emergency-share", type=float, default=0.0, help="fraction of messages sent as emergency")
    sim.add_argument("--region", default="EU868")
    sim.add_argument("--frequency", type=float, default=869.525, metavar="MHZ")
    _modulation_args(sim, required=False)
    sim.add_argument("--links", metavar="FILE",
                     help="surveyed links (JSON, see docs/mesh.md) instead of --topology/--nodes")
    sim.add_argument("--gateway", type=int, action="append", metavar="INDEX",
                     help="node reporting cellular coverage in its beacons (default 0; repeatable)")
    sim.add_argument("--json", action="store_true", help="print the result as JSON")
    sim.set_defaults(func=mesh_sim)

    register_node_actions(actions)


def _modulation_args(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument("--sf", type=int, required=required, default=None if required else 9,
                        help="spreading factor 6..12")
    parser.add_argument("--bw", type=float, required=required, default=None if required else 125,
                        metavar="KHZ", help="bandwidth in kHz (125, 250, 500, …)")
    parser.add_argument("--cr", type=int, required=required, default=None if required else 5,
                        help="coding rate denominator 5..8 (4/5..4/8)")
    parser.add_argument("--preamble", type=int, default=8 if required else 16, help="preamble symbols")


def _modulation(args: argparse.Namespace, **extra: Any):
    from evy.mesh.airtime import Modulation, bandwidth_from_khz

    return Modulation(args.sf, bandwidth_from_khz(args.bw), args.cr, args.preamble, **extra)


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


def lora_airtime(args: argparse.Namespace) -> int:
    ldro = {"auto": None, "on": True, "off": False}[args.ldro]
    modulation = _modulation(args, explicit_header=not args.implicit_header, crc=not args.no_crc, low_data_rate=ldro)
    print_json({"seconds": round(modulation.time_on_air(args.payload), 6)})
    return 0


def mesh_keygen(args: argparse.Namespace) -> int:
    from evy.mesh.keys import NetworkKey, generate_key_file

    path = generate_key_file(args.file)
    print_json({"key_file": str(path), "network": f"{NetworkKey.load(path).network_id:04x}"})
    return 0


def mesh_sim(args: argparse.Namespace) -> int:
    from evy.mesh.errors import MeshError
    from evy.mesh.routing import RoutingParams
    from evy.mesh.sim import SimConfig, Simulation, load_links

    links = None
    if args.links:
        args.nodes, links = load_links(args.links, args.loss)
        args.topology = "file"
    if not 2 <= args.nodes <= 254:
        raise MeshError("--nodes must be 2..254")
    if not 0 <= args.loss < 1 or not 0 <= args.emergency_share <= 1:
        raise MeshError("--loss must be in [0, 1) and --emergency-share in [0, 1]")
    if not 1 <= args.hop_limit <= 7 or args.messages < 1 or args.interval <= 0:
        raise MeshError("--hop-limit must be 1..7, --messages ≥ 1, --interval > 0")
    config = SimConfig(nodes=args.nodes, topology=args.topology, loss=args.loss, messages=args.messages,
                       seed=args.seed, modulation=_modulation(args), region=args.region,
                       frequency_mhz=args.frequency, interval_s=args.interval, payload_chars=args.payload,
                       beacon_interval_s=args.beacon_interval, emergency_share=args.emergency_share,
                       params=RoutingParams(hop_limit=args.hop_limit, origin_retries=args.retries),
                       gateways=tuple(args.gateway or (0,)))
    result = Simulation(config, links).run()
    if args.json:
        print_json(result)
    else:
        for key, value in result.items():
            print(f"{key:28} {value}")
    return 0
