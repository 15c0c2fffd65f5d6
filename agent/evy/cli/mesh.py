"""`evy frame decode`, `evy lora airtime` and `evy mesh keygen|sim|run`: the LoRa mesh from the shell."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from evy.cli import print_json

KINDS = ("sms_relay", "alert", "offload_request", "offload_response")


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

    run = actions.add_parser("run", help="run this kit's mesh node; JSON lines: commands on stdin, events on stdout")
    _node_args(run)
    run.set_defaults(func=mesh_run)

    send = actions.add_parser("send", help="join, send one message, wait for its ACK (exit 1 if not delivered)")
    _node_args(send)
    send.add_argument("--to", required=True, metavar="HEX", help="destination node id, or `broadcast`")
    send.add_argument("--kind", choices=KINDS, default="sms_relay")
    send.add_argument("--number", default="", help="phone number (sms_relay)")
    send.add_argument("--text", required=True)
    send.add_argument("--severity", type=int, default=2, help="alert severity 0..3")
    send.add_argument("--priority", choices=("background", "routine", "emergency"), default="routine")
    send.add_argument("--wait", type=float, default=120.0, metavar="SECONDS", help="longest wait for the ACK")
    send.set_defaults(func=mesh_send)

    status = actions.add_parser("status", help="this kit's mesh state: node id, airtime used, peers' replay state")
    status.add_argument("--config", metavar="FILE", help="agent config (default /etc/evy/evy.toml)")
    status.add_argument("--state-dir", metavar="DIR", help="overrides mesh.state_dir")
    status.set_defaults(func=mesh_status)


def _node_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="agent config (default /etc/evy/evy.toml)")
    parser.add_argument("--key", metavar="FILE", help="network key file (overrides mesh.key_file)")
    parser.add_argument("--node-id", metavar="HEX", help="overrides mesh.node_id")
    parser.add_argument("--state-dir", metavar="DIR", help="overrides mesh.state_dir")
    parser.add_argument("--radio", choices=("sx1276", "udp"), help="overrides mesh.radio")
    parser.add_argument("--udp-bind", metavar="HOST:PORT")
    parser.add_argument("--udp-peer", action="append", metavar="HOST:PORT", help="a neighbour in radio range")
    parser.add_argument("--udp-loss", type=float, default=0.0, help="simulated loss of the udp radio")
    parser.add_argument("--hop-limit", type=int)
    parser.add_argument("--beacon-interval", type=float)
    parser.add_argument("--sf", type=int, help="overrides mesh.spreading_factor")
    parser.add_argument("--region", help="overrides mesh.region")
    parser.add_argument("--frequency", type=float, help="overrides mesh.frequency (MHz)")


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
        result["message"] = _message_json(messages.decode(header.kind, frame.body))
    print_json(result)
    return 0


def _message_json(message: Any) -> dict:
    data = dataclasses.asdict(message)
    data["kind"] = message.kind.name.lower()
    return data


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


def _node_config(args: argparse.Namespace) -> Any:
    from evy.config import load

    config = load(args.config)
    overrides = {"mesh__key_file": getattr(args, "key", None), "mesh__node_id": getattr(args, "node_id", None),
                 "mesh__state_dir": args.state_dir, "mesh__radio": getattr(args, "radio", None),
                 "mesh__udp_bind": getattr(args, "udp_bind", None), "mesh__udp_peers": getattr(args, "udp_peer", None),
                 "mesh__hop_limit": getattr(args, "hop_limit", None),
                 "mesh__beacon_interval": getattr(args, "beacon_interval", None),
                 "mesh__spreading_factor": getattr(args, "sf", None), "mesh__region": getattr(args, "region", None),
                 "mesh__frequency": getattr(args, "frequency", None)}
    return config.replace(**{k: v for k, v in overrides.items() if v is not None})


def mesh_run(args: argparse.Namespace) -> int:
    import asyncio

    return asyncio.run(_run_node(_node_config(args), args.udp_loss))


def mesh_send(args: argparse.Namespace) -> int:
    import asyncio

    from evy.mesh.errors import MeshError

    message = _build_message({"kind": args.kind, "number": args.number, "text": args.text,
                              "severity": args.severity, "request_id": 0})
    try:
        priority = _priority(args.priority)
    except KeyError:
        raise MeshError(f"unknown priority {args.priority}") from None
    result = asyncio.run(_send_once(_node_config(args), args.udp_loss, args.to, message, priority, args.wait))
    print_json(result)
    return 0 if result["delivered"] is not False else 1


async def _send_once(config: Any, udp_loss: float, to: str, message: Any, priority: Any, wait_s: float) -> dict:
    import asyncio

    from evy.mesh.frames import BROADCAST
    from evy.mesh.service import open_node

    loop = asyncio.get_running_loop()
    outcome: asyncio.Future[bool] = loop.create_future()

    def on_status(_: int, delivered: bool) -> None:
        if not outcome.done():
            outcome.set_result(delivered)

    node = open_node(config, loop, on_status=on_status, udp_loss=udp_loss)
    try:
        destination = BROADCAST if to == "broadcast" else _node_id(to)
        message_id = node.send(destination, message, priority)
        if destination == BROADCAST:  # no ACK for broadcasts: done once it has left
            while not node.idle():
                await asyncio.sleep(0.05)
            return {"message_id": message_id, "delivered": None, "sent": True}
        try:
            delivered = await asyncio.wait_for(outcome, wait_s)
        except TimeoutError:
            delivered = False
        return {"message_id": message_id, "delivered": delivered, **_counter_view(node)}
    finally:
        node.stop()


def _counter_view(node: Any) -> dict:
    counters = node.counters
    return {"transmissions": counters.transmissions, "retries": counters.retries,
            "airtime_s": round(counters.airtime_s, 3)}


def _node_id(text: str) -> int:
    from evy.mesh.errors import MeshError
    from evy.mesh.settings import node_id

    try:
        value = node_id(text)
    except ValueError as exc:
        raise MeshError(f"--to: {exc}") from None
    if value is None:
        raise MeshError("--to needs a node id")
    return value


def mesh_status(args: argparse.Namespace) -> int:
    import time

    from evy.mesh.dutycycle import AirtimeLedger, region
    from evy.mesh.keys import NetworkKey
    from evy.mesh.service import state_dir
    from evy.mesh.state import NodeState

    config = _node_config(args)
    directory = state_dir(config)
    state = NodeState(directory / "state.json")
    band = region(config["mesh.region"]).band(config["mesh.frequency"])
    ledger = AirtimeLedger(band, directory / "airtime.json")
    now = time.time()
    network = None
    if config["mesh.key_file"]:
        network = f"{NetworkKey.load(config['mesh.key_file']).network_id:04x}"
    print_json({
        "state_dir": str(directory), "node_id": f"{state.node_id:08x}" if state.node_id else None,
        "network": network, "key_configured": network is not None,
        "region": config["mesh.region"], "frequency_mhz": config["mesh.frequency"], "band_rule": band.rule,
        "airtime_last_hour_s": round(ledger.used_s(now), 3),
        "routine_allowance_s": round(ledger.allowance_s(False), 3),
        "emergency_allowance_s": round(ledger.allowance_s(True), 3),
        "sources_tracked": state.sources_tracked(),
    })
    return 0


async def _run_node(config: Any, udp_loss: float) -> int:
    import asyncio
    import signal

    from evy.mesh.frames import BROADCAST
    from evy.mesh.messages import Beacon
    from evy.mesh.service import open_node

    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    def emit(event: dict) -> None:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()

    def on_message(message: Any) -> None:
        try:
            body: Any = _message_json(message.decoded())
        except Exception as exc:  # a body we cannot parse is still reported
            body = {"error": str(exc), "hex": message.body.hex()}
        emit({"event": "message", "source": f"{message.source:08x}", "kind": message.kind.name.lower(),
              "message_id": message.message_id, "priority": message.priority.name.lower(),
              "hops": message.hops, "body": body})

    node = None

    def beacon() -> Beacon:
        return Beacon(battery_pct=255, queue_depth=node.queue_depth() if node else 0, cellular=False)

    node = open_node(config, loop, on_message=on_message, udp_loss=udp_loss, beacon=beacon,
                     on_status=lambda mid, ok: emit({"event": "status", "message_id": mid, "delivered": ok}))
    emit({"event": "ready", "node": f"{node.node_id:08x}", "network": f"{node.key.network_id:04x}"})

    def command(line: str) -> None:
        try:
            request = json.loads(line)
            (name, value), = request.items()
            if name == "send":
                node_id = value["to"]
                destination = BROADCAST if node_id == "broadcast" else int(node_id, 16)
                mid = node.send(destination, _build_message(value), _priority(value.get("priority", "routine")))
                emit({"event": "sent", "message_id": mid})
            elif name == "status":
                emit({"event": "status_report", **node.status()})
            elif name == "block":
                node.radio.block(set(value))  # type: ignore[attr-defined]
                emit({"event": "blocked", "hosts": sorted(value)})
            elif name == "unblock":
                node.radio.unblock()  # type: ignore[attr-defined]
                emit({"event": "unblocked"})
            elif name == "quit":
                done.set()
            else:
                raise ValueError(f"unknown command {name!r}")
        except Exception as exc:
            emit({"event": "error", "error": str(exc)})

    def readable() -> None:
        line = sys.stdin.readline()
        if not line:
            done.set()
        elif line.strip():
            command(line)

    loop.add_reader(sys.stdin.fileno(), readable)
    for signal_number in (signal.SIGTERM, signal.SIGINT):  # close the radio cleanly when the service stops
        loop.add_signal_handler(signal_number, done.set)
    try:
        await done.wait()
    finally:
        loop.remove_reader(sys.stdin.fileno())
        node.stop()
        emit({"event": "stopped", **node.status()})
    return 0


def _priority(name: str) -> Any:
    from evy.mesh.frames import Priority

    return Priority[name.upper()]


def _build_message(value: dict) -> Any:
    from evy.mesh.messages import Alert, OffloadRequest, OffloadResponse, SmsRelay

    kind = value.get("kind", "sms_relay")
    if kind == "sms_relay":
        return SmsRelay(value["number"], value["text"])
    if kind == "alert":
        return Alert(int(value.get("severity", 2)), value["text"])
    if kind == "offload_request":
        return OffloadRequest(value["text"], int(value.get("max_chars", 459)))
    if kind == "offload_response":
        return OffloadResponse(int(value["request_id"]), value["text"])
    raise ValueError(f"kind must be one of {', '.join(KINDS)}")
