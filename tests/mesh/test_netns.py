"""Multi-node tests: every node is an `evy mesh run` process in its own network namespace.

The namespaces hang off a bridge in a hub namespace through veth pairs (10.77.0.0/24 exists only inside
them). Radio range is each process's peer list, so three processes on one bridge form the line A—B—C and
B must relay. Loss comes from `tc netem` on the hub side of a veth when the kernel has sch_netem.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.root, pytest.mark.slow]

AGENT = Path(__file__).resolve().parents[2] / "agent"
SUBNET = "10.77.0"
PORT = 47700


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2 (`ip netns exec`) is not installed"
    try:
        import pyroute2  # noqa: F401
    except ImportError:
        return "pyroute2 is not installed"
    return None


class Namespaces:
    """A hub namespace with a bridge and one namespace per node, veth-linked to it."""

    def __init__(self, count: int):
        from pyroute2 import NetNS, netns

        self.netns, self.NetNS = netns, NetNS
        tag = f"evym{os.getpid() % 100000}"
        self.hub = f"{tag}-hub"
        self.names = [f"{tag}-n{i}" for i in range(count)]
        self.addresses = [f"{SUBNET}.{i + 1}" for i in range(count)]
        self.netem = False

    def create(self) -> None:
        netns = self.netns
        netns.create(self.hub)
        with self.NetNS(self.hub) as hub:
            hub.link("add", ifname="br0", kind="bridge")
            bridge = hub.link_lookup(ifname="br0")[0]
            hub.link("set", index=bridge, state="up")
            for i, name in enumerate(self.names):
                netns.create(name)
                hub.link("add", ifname=f"h{i}", kind="veth", peer={"ifname": f"n{i}"})
                hub.link("set", index=hub.link_lookup(ifname=f"n{i}")[0], net_ns_fd=name)
                outer = hub.link_lookup(ifname=f"h{i}")[0]
                hub.link("set", index=outer, master=bridge)
                hub.link("set", index=outer, state="up")
                with self.NetNS(name) as ns:
                    inner = ns.link_lookup(ifname=f"n{i}")[0]
                    ns.addr("add", index=inner, address=self.addresses[i], prefixlen=24)
                    ns.link("set", index=inner, state="up")
                    ns.link("set", index=ns.link_lookup(ifname="lo")[0], state="up")

    def set_loss(self, node: int, percent: float) -> bool:
        """netem loss on frames towards ``node``; False if the kernel has no sch_netem."""
        from pyroute2.netlink.exceptions import NetlinkError

        with self.NetNS(self.hub) as hub:
            index = hub.link_lookup(ifname=f"h{node}")[0]
            try:
                hub.tc("add", "netem", index, handle="1:", loss=percent)
            except NetlinkError:
                return False
        return True

    def set_link(self, node: int, up: bool) -> None:
        """Cut a node off the bridge (a partition at the network level) or reconnect it."""
        with self.NetNS(self.hub) as hub:
            hub.link("set", index=hub.link_lookup(ifname=f"h{node}")[0], state="up" if up else "down")

    def destroy(self) -> None:
        for name in [*self.names, self.hub]:
            with contextlib.suppress(OSError):
                self.netns.remove(name)


class NodeProcess:
    def __init__(self, namespace: str, args: list[str]):
        env = {**os.environ, "PYTHONPATH": str(AGENT)}
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", namespace, sys.executable, "-m", "evy", "mesh", "run", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.events: queue.Queue[dict] = queue.Queue()
        self.seen: list[dict] = []
        self._consumed: set[int] = set()  # indices into seen already returned by wait_for
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                self.events.put(json.loads(line))
            except ValueError:
                self.events.put({"event": "garbage", "line": line})

    def command(self, **request) -> None:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()

    def wait_for(self, predicate, timeout: float) -> dict:
        """The first event not returned before that matches, waiting up to ``timeout`` seconds."""
        for index, event in enumerate(self.seen):
            if index not in self._consumed and predicate(event):
                self._consumed.add(index)
                return event
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(event)
            if predicate(event):
                self._consumed.add(len(self.seen) - 1)
                return event
        stderr = ""
        if self.proc.poll() is not None:
            stderr = self.proc.stderr.read()
        raise AssertionError(f"no matching event within {timeout} s; seen {self.seen}; stderr {stderr!r}")

    def drain(self, seconds: float) -> list[dict]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                self.seen.append(self.events.get(timeout=max(0.01, deadline - time.monotonic())))
        return self.seen

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.command(quit={})
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            stream.close()


@pytest.fixture(scope="module")
def namespaces():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    spaces = Namespaces(3)
    try:
        spaces.create()
    except Exception as exc:  # no CAP_SYS_ADMIN, no veth/bridge support, …
        spaces.destroy()
        pytest.skip(f"cannot build network namespaces here: {exc}")
    yield spaces
    spaces.destroy()


@pytest.fixture
def line(namespaces, tmp_path):
    """Processes A—B—C; returns a starter so a test can pass extra flags per node."""
    key = tmp_path / "mesh.key"
    key.write_text("0f1e2d3c4b5a69788796a5b4c3d2e1f0\n")
    neighbours = {0: [1], 1: [0, 2], 2: [1]}
    started: list[NodeProcess] = []

    def start(extra: dict[int, list[str]] | None = None) -> list[NodeProcess]:
        for i, peers in neighbours.items():
            args = ["--key", str(key), "--node-id", f"e50000{i + 1:02x}", "--state-dir", str(tmp_path / f"n{i}"),
                    "--radio", "udp", "--udp-bind", f"{namespaces.addresses[i]}:{PORT}", "--sf", "7",
                    "--hop-limit", "2", "--beacon-interval", "0",
                    *[a for p in peers for a in ("--udp-peer", f"{namespaces.addresses[p]}:{PORT}")],
                    *(extra or {}).get(i, [])]
            started.append(NodeProcess(namespaces.names[i], args))
        for node in started:
            node.wait_for(lambda e: e["event"] == "ready", 30)
        return started

    yield start
    for node in started:
        node.stop()


def _send(node: NodeProcess, to: str, text: str) -> int:
    node.command(send={"to": to, "kind": "sms_relay", "number": "+254700000001", "text": text})
    return node.wait_for(lambda e: e["event"] == "sent", 10)["message_id"]


def test_a_message_crosses_three_processes(line):
    a, b, c = line()
    mid = _send(a, "e5000003", "water at the school")
    message = c.wait_for(lambda e: e["event"] == "message", 30)
    assert message["source"] == "e5000001" and message["hops"] == 1
    assert message["body"] == {"number": "+254700000001", "text": "water at the school", "kind": "sms_relay"}
    assert a.wait_for(lambda e: e["event"] == "status", 30) == {"event": "status", "message_id": mid,
                                                                "delivered": True}
    b.command(status={})
    report = b.wait_for(lambda e: e["event"] == "status_report", 10)
    assert report["counters"]["relayed"] >= 1 and report["counters"]["delivered"] == 0


def test_a_partition_heals_and_the_retry_is_delivered_once(line, namespaces):
    a, _b, c = line()
    namespaces.set_link(2, up=False)  # C's veth down: C is cut off at the network level
    try:
        mid = _send(a, "e5000003", "are you there")
        time.sleep(4)
        assert not any(e["event"] == "message" for e in c.drain(0.1))
    finally:
        namespaces.set_link(2, up=True)
    c.wait_for(lambda e: e["event"] == "message", 60)
    assert a.wait_for(lambda e: e["event"] == "status", 60)["delivered"] is True
    assert sum(e["event"] == "message" for e in c.drain(3)) == 1
    assert mid


@pytest.mark.parametrize("mechanism", ["netem", "radio"])
def test_lossy_links_still_deliver_every_message_once(line, namespaces, mechanism):
    if mechanism == "netem":
        if not namespaces.set_loss(1, 30) or not namespaces.set_loss(2, 30):
            pytest.skip("this kernel has no sch_netem (tc netem); the radio-level loss variant covers it")
        nodes = line()
    else:
        nodes = line({i: ["--udp-loss", "0.2"] for i in range(3)})
    a, _, c = nodes
    for k in range(3):
        _send(a, "e5000003", f"report {k}")
    for _ in range(2):  # retries get at least two of three through the losses
        c.wait_for(lambda e: e["event"] == "message", 60)
    a.drain(3)
    texts = [e["body"]["text"] for e in c.drain(0.5) if e["event"] == "message"]
    assert len(texts) == len(set(texts)) >= 2  # and never one twice
    acknowledged = sum(e["event"] == "status" and e["delivered"] for e in a.seen)
    assert acknowledged <= len(texts)  # an ACK always means the message arrived
