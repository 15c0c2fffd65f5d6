"""LoRa between two kits, as the HIL suite checks it: one kit sends a message to the other's node id with
`evy mesh send`; the other, running `evy mesh listen`, receives it (a frame only reaches the listener once it
has passed authentication with the network key) and acknowledges it.

The steps are written once against a kit's shell (``run(command, timeout) -> stdout``, raising on a non-zero
exit), so the same check runs on two real kits (hil/tests/test_06_lora.py), on two QEMU guests, and on two
local kits over the UDP radio twin in CI (hil/tests/unit/test_lora_link.py): a CLI change that breaks it fails
CI, not the next day on the rig.
"""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass
from typing import Protocol

from .errors import HilError


class LoraCheckError(HilError):
    """The message did not go from one kit to the other; the text says which step failed and what it printed."""


class KitShell(Protocol):
    def run(self, command: str, timeout: float = 60.0) -> str: ...


@dataclass(frozen=True)
class LoraEnd:
    """One kit as the check drives it."""

    kit: KitShell
    evy: str = "evy"  # the CLI, as the agent's user on a kit (its node state files must stay the agent's)
    node_args: str = ""  # extra `evy mesh` arguments, e.g. a local kit's --config
    radio_args: str = ""  # the radio for `send` and `listen`, e.g. the UDP twin's (TwinLink.connect)
    scratch: str = "/run"  # a writable directory for the listener's output
    agent_unit: str = ""  # the service holding the radio: stopped for the check, started again after


@dataclass(frozen=True)
class LinkResult:
    sender_node: str
    receiver_node: str
    sent: dict  # `evy mesh send`'s JSON
    received: dict  # the listener's message event


# Seconds the CLI may take to start (import the agent, open the radio, join) before it does anything: about
# 15 s on a Pi or an idle emulated kit, minutes on an emulated kit on a loaded host. Only an upper bound: every
# wait returns as soon as its event is there.
STARTUP = 300.0


def check_link(sender: LoraEnd, receiver: LoraEnd, text: str, timeout: float = 120.0) -> LinkResult:
    """Send ``text`` from ``sender`` to ``receiver`` over the mesh; LoraCheckError unless it arrives intact
    from the sender's node id and its ACK comes back (``timeout``: the longest wait for the ACK, once sent)."""
    out, err, pid = (f"{receiver.scratch}/evy-lora-listen.{suffix}" for suffix in ("jsonl", "err", "pid"))
    holders = [end for end in (sender, receiver) if end.agent_unit]
    for end in holders:
        end.kit.run(f"systemctl stop {shlex.quote(end.agent_unit)}")
    try:
        receiver.kit.run(f"rm -f {out} {err} {pid}; nohup {receiver.evy} mesh listen {receiver.node_args} "
                         f"{receiver.radio_args} --count 1 --timeout {STARTUP + timeout + 60:.0f} > {out} 2> {err} "
                         f"< /dev/null & echo $! > {pid}")
        ready = _wait_for_event(receiver, "ready", out, err, pid, timeout=STARTUP)
        sent_text = sender.kit.run(f"{sender.evy} mesh send {sender.node_args} {sender.radio_args} "
                                   f"--to {ready['node']} --text {shlex.quote(text)} --wait {timeout:.0f} || true",
                                   timeout=STARTUP + timeout)
        sent = _last_json(sent_text, "evy mesh send")
        if sent.get("delivered") is not True:
            raise LoraCheckError(f"no ACK from node {ready['node']} for the message: {sent}")
        received = _wait_for_event(receiver, "message", out, err, pid, timeout=timeout)
        status = _last_json(sender.kit.run(f"{sender.evy} mesh status {sender.node_args}", timeout=STARTUP),
                            "evy mesh status")
        if received.get("body", {}).get("text") != text or received.get("source") != status["node_id"]:
            raise LoraCheckError(f"node {ready['node']} received {received}, expected {text!r} from "
                                 f"{status['node_id']}")
        return LinkResult(status["node_id"], ready["node"], sent, received)
    finally:
        receiver.kit.run(f"kill $(cat {pid} 2>/dev/null) 2>/dev/null; true")
        for end in holders:  # not waiting for the agent's READY: that is its own start time, not the link's
            end.kit.run(f"systemctl start --no-block {shlex.quote(end.agent_unit)}")


@dataclass(frozen=True)
class TwinLink:
    """Kits without an SX127x (QEMU guests) talk over the agents' UDP radio twin on a virtual cable between
    them. The env file's ``lora_twin_link`` names each kit's end of the cable as ``MAC=ADDRESS/PREFIX``,
    in target order (``main`` then ``peer``); the twin listens on ``port`` on every end."""

    ends: tuple[tuple[str, str], ...]
    port: int = 47700
    spreading_factor: int = 7  # the shortest airtime: the twin keeps the duty-cycle ledger of a real radio

    @classmethod
    def parse(cls, text: str) -> TwinLink:
        ends = []
        for item in text.split():
            mac, _, address = item.partition("=")
            if not mac or "/" not in address:
                raise LoraCheckError(f"lora_twin_link: {item!r} is not MAC=ADDRESS/PREFIX")
            ends.append((mac.lower(), address))
        if len(ends) != 2:
            raise LoraCheckError(f"lora_twin_link names {len(ends)} ends; a link has two: {text!r}")
        return cls(tuple(ends))

    def connect(self, kit: KitShell, index: int) -> str:
        """Bring up kit ``index``'s end of the cable; returns the `evy mesh` arguments for the twin on it."""
        mac, address = self.ends[index]
        peer_address = self.ends[1 - index][1].split("/")[0]
        name = kit.run(f"grep -lix {shlex.quote(mac)} /sys/class/net/*/address | cut -d/ -f5; true").strip()
        if not name:
            raise LoraCheckError(f"no network interface with MAC {mac} on the kit (is the virtual cable attached?)")
        kit.run(f"ip link set {name} up && (ip addr show dev {name} | grep -qF ' {address} ' || "
                f"ip addr add {address} dev {name})")
        return (f"--radio udp --udp-bind {address.split('/')[0]}:{self.port} --udp-peer {peer_address}:{self.port}"
                f" --sf {self.spreading_factor}")


def _wait_for_event(end: LoraEnd, name: str, out: str, err: str, pid: str, timeout: float) -> dict:
    """The listener's first ``name`` event, read from its output file as it grows."""
    deadline = time.monotonic() + timeout
    while True:
        # One round trip per poll: the output, then whether the listener still runs, then its stderr.
        text = end.kit.run(f"cat {out} 2>/dev/null; echo; kill -0 $(cat {pid}) 2>/dev/null && echo RUNNING; "
                           f"echo ---; tail -n 5 {err} 2>/dev/null; true")
        head, _, errors = text.partition("\n---\n")
        events = [json.loads(line) for line in head.splitlines() if line.startswith("{")]
        found = next((event for event in events if event.get("event") == name), None)
        if found is not None:
            return found
        if "RUNNING" not in head.splitlines() or time.monotonic() > deadline:
            stopped = next((e for e in events if e.get("event") == "stopped"), None)
            why = f"it stopped ({stopped})" if stopped else ("timed out" if "RUNNING" in head else "it exited")
            raise LoraCheckError(f"`evy mesh listen` gave no {name} event, {why}: {errors.strip() or 'no stderr'}")
        time.sleep(1.0)


def _last_json(text: str, what: str) -> dict:
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise LoraCheckError(f"{what} printed no JSON: {text.strip()[-300:]}")
