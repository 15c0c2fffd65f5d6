"""`evy mesh keygen|sim`: the LoRa mesh between kits from the shell, offline.

The commands that run this kit's node (`evy mesh run|send|listen|status`) are in :mod:`evy.cli.meshnode`.
"""

from __future__ import annotations

import argparse

from evy.cli import print_json
from evy.cli.lora import modulation_args, modulation_from
from evy.cli.meshnode import register_node_actions


def register(sub: argparse._SubParsersAction) -> None:
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
    modulation_args(sim, required=False)
    sim.add_argument("--links", metavar="FILE",
                     help="surveyed links (JSON, see docs/mesh.md) instead of --topology/--nodes")
    sim.add_argument("--gateway", type=int, action="append", metavar="INDEX",
                     help="node reporting cellular coverage in its beacons (default 0; repeatable)")
    sim.add_argument("--json", action="store_true", help="print the result as JSON")
    sim.set_defaults(func=mesh_sim)

    register_node_actions(actions)



def mesh_keygen(args: argparse.Namespace) -> int:
    from evy.mesh.keys import NetworkKey, generate_key_file

    path = generate_key_file(args.file)
    print_json({"key_file": str(path), "network": f"{NetworkKey.load(path).network_id:04x}"})
    return 0


def mesh_sim(args: argparse.Namespace) -> int:
    from evy.mesh.errors import MeshError
    from evy.mesh.routing import RoutingParams
    from evy.mesh.simulator import SimConfig, Simulation, load_links

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
                       seed=args.seed, modulation=modulation_from(args), region=args.region,
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
