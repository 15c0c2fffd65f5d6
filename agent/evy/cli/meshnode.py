"""`evy mesh run|send|listen|status`: this kit's mesh node from the shell, JSON on stdout.

`run` is a long-lived node driven by JSON lines on stdin; `send` joins, sends one message and waits for its
ACK; `listen` joins and prints what arrives for this kit; `status` reads the node's persisted state. Each
opens the radio the config names, so the agent (which holds it too) must not run meanwhile.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from evy.cli import add_config_option, print_json

KINDS = ("sms_relay", "alert", "offload_request", "offload_response")


def register_node_actions(actions: argparse._SubParsersAction) -> None:
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

    listen = actions.add_parser("listen", help="join and print each message for this kit as a JSON line, until "
                                "--count messages or --timeout seconds (exit 1 if fewer than --count came)")
    _node_args(listen)
    listen.add_argument("--count", type=int, default=0, help="stop after this many messages (0: no limit)")
    listen.add_argument("--timeout", type=float, default=0.0, metavar="SECONDS", help="stop after this long "
                        "(0: until SIGTERM or Ctrl-C)")
    listen.set_defaults(func=mesh_listen)

    status = actions.add_parser("status", help="this kit's mesh state: node id, airtime used, peers' replay state")
    add_config_option(status)
    status.add_argument("--state-dir", metavar="DIR", help="overrides mesh.state_dir")
    status.set_defaults(func=mesh_status)


def _node_args(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
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


def emit(event: dict) -> None:
    """One JSON line on stdout, flushed: a reader sees each event as it happens."""
    sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def ready_event(node: Any) -> dict:
    return {"event": "ready", "node": f"{node.node_id:08x}", "network": f"{node.key.network_id:04x}"}


def message_event(message: Any) -> dict:
    """A message for this kit: it passed the network key's authentication, or the node would have dropped it."""
    try:
        body: Any = message_json(message.decoded())
    except Exception as exc:  # a body we cannot parse is still reported
        body = {"error": str(exc), "hex": message.body.hex()}
    return {"event": "message", "source": f"{message.source:08x}", "kind": message.kind.name.lower(),
            "message_id": message.message_id, "priority": message.priority.name.lower(), "hops": message.hops,
            "body": body}


def mesh_listen(args: argparse.Namespace) -> int:
    import asyncio

    from evy.mesh.errors import MeshError

    if args.count < 0 or args.timeout < 0:
        raise MeshError("--count and --timeout must not be negative")
    return asyncio.run(_listen(_node_config(args), args.udp_loss, args.count, args.timeout))


async def _listen(config: Any, udp_loss: float, count: int, timeout_s: float) -> int:
    import asyncio
    import signal

    from evy.mesh.routing import CW_MIN, slot_s
    from evy.mesh.service import open_node

    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    received = 0

    def on_message(message: Any) -> None:
        nonlocal received
        received += 1
        emit(message_event(message))
        if count and received >= count:
            done.set()

    node = open_node(config, loop, on_message=on_message, udp_loss=udp_loss)
    emit(ready_event(node))
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, done.set)
    reason = "count"
    try:
        try:
            await asyncio.wait_for(done.wait(), timeout_s or None)
            reason = "count" if count and received >= count else "signal"
        except TimeoutError:
            reason = "timeout"
        # The last message's ACK leaves after a random backoff: stay on air until it has gone.
        await asyncio.sleep((1 << CW_MIN) * slot_s(node.radio.modulation) + 0.05)
        for _ in range(600):
            if node.idle():
                break
            await asyncio.sleep(0.05)
    finally:
        node.stop()
        emit({"event": "stopped", "reason": reason, "received": received})
    return 1 if count and received < count else 0


async def _run_node(config: Any, udp_loss: float) -> int:
    import asyncio
    import signal

    from evy.mesh.frames import BROADCAST
    from evy.mesh.messages import Beacon
    from evy.mesh.service import open_node

    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    node = None

    def beacon() -> Beacon:
        return Beacon(battery_pct=255, queue_depth=node.queue_depth() if node else 0, cellular=False)

    node = open_node(config, loop, on_message=lambda message: emit(message_event(message)), udp_loss=udp_loss,
                     beacon=beacon,
                     on_status=lambda mid, ok: emit({"event": "status", "message_id": mid, "delivered": ok}))
    emit(ready_event(node))

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
        return OffloadRequest(value["text"], int(value.get("max_chars", 459)), int(value.get("seconds", 20)))
    if kind == "offload_response":
        return OffloadResponse(int(value["request_id"]), value["text"])
    raise ValueError(f"kind must be one of {', '.join(KINDS)}")


def message_json(message: Any) -> dict:
    data = dataclasses.asdict(message)
    data["kind"] = message.kind.name.lower()
    return data
