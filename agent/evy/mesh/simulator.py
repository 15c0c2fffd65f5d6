"""The discrete-event mesh simulator: the real :class:`MeshNode` code on a virtual clock, with a shared
medium that models airtime, per-link loss and SNR, collisions, half-duplex radios and partitions.

It answers the field team's planning question — "with these kits placed like this, how much gets
through, and how much airtime does it cost?" — and is reproducible from its seed.
"""

from __future__ import annotations

import json
import math
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from evy.config.schema import defaults_from
from evy.mesh import settings as mesh_settings
from evy.mesh.airtime import Modulation
from evy.mesh.clock import VirtualClock
from evy.mesh.dutycycle import WINDOW_S, AirtimeLedger, max_window_airtime, region
from evy.mesh.errors import MeshError, RadioError
from evy.mesh.frames import Priority, parse_header
from evy.mesh.keys import NetworkKey
from evy.mesh.messages import Beacon, SmsRelay
from evy.mesh.node import MeshNode, Message
from evy.mesh.radio.base import Radio, Receiver
from evy.mesh.routing import RoutingParams

TOPOLOGIES = ("line", "star", "grid", "random")
CAPTURE_DB = 6.0  # a frame this much stronger than an overlapping one still decodes (capture effect)


@dataclass
class Link:
    snr_db: float
    loss: float


@dataclass
class _Reception:
    sender: int
    frame: bytes
    start: float
    end: float
    snr_db: float
    synced: bool = True  # the receiver was listening when the preamble went by, so it knows RX is on-going
    collided: bool = False


class SimMedium:
    """The air shared by simulated radios (indices 0..n-1) on one virtual clock."""

    def __init__(self, clock: VirtualClock, links: dict[tuple[int, int], Link], rng: random.Random):
        self.clock, self.links, self.rng = clock, links, rng
        self.radios: dict[int, SimRadio] = {}
        self.blocked: set[tuple[int, int]] = set()
        self.collisions = 0
        self.log: list[tuple[float, int, bytes]] = []  # every transmission: (start, sender index, frame)
        self._receiving: dict[int, list[_Reception]] = {}
        self._tx_until: dict[int, float] = {}

    def attach(self, radio: SimRadio) -> None:
        self.radios[radio.index] = radio
        self._receiving[radio.index] = []

    def partition(self, group_a: set[int], group_b: set[int]) -> None:
        self.blocked |= {(a, b) for a in group_a for b in group_b} | {(b, a) for a in group_a for b in group_b}

    def heal(self) -> None:
        self.blocked.clear()

    def neighbours(self, index: int) -> list[int]:
        return [b for (a, b) in self.links if a == index]

    def transmit(self, sender: int, frame: bytes, airtime: float) -> None:
        now = self.clock.time()
        self._tx_until[sender] = now + airtime
        self.log.append((now, sender, frame))
        for (a, b), link in self.links.items():
            if a != sender or (a, b) in self.blocked or b not in self.radios:
                continue
            synced = self._tx_until.get(b, -1.0) <= now
            reception = _Reception(sender, frame, now, now + airtime, link.snr_db, synced)
            current = [r for r in self._receiving[b] if r.end > now]
            for other in current:
                if reception.snr_db - other.snr_db < CAPTURE_DB:
                    other.collided = True
                if other.snr_db - reception.snr_db < CAPTURE_DB:
                    reception.collided = True
            self._receiving[b] = [*current, reception]
            self.clock.call_at(reception.end, self._finish, b, reception, link)

    def _finish(self, receiver: int, reception: _Reception, link: Link) -> None:
        self._receiving[receiver] = [r for r in self._receiving[receiver] if r is not reception]
        radio = self.radios[receiver]
        tx_until = self._tx_until.get(receiver, -1.0)
        if reception.collided:
            self.collisions += 1
            return
        if tx_until > reception.start or not radio.listening:  # half duplex: deaf while transmitting
            return
        if (reception.sender, receiver) in self.blocked or self.rng.random() < link.loss:
            return
        rssi = -120.0 + reception.snr_db  # a rough figure; the routing code only uses SNR
        radio.deliver(reception.frame, rssi, reception.snr_db)

    def busy(self, index: int) -> bool:
        """What an SX127x can know before transmitting: CAD detects a preamble on air, and the modem status
        shows a reception in progress — but only one it synchronised to. A frame whose preamble passed while
        this radio was transmitting goes unnoticed (CAD sees no preamble in a payload: LoRaMac-node #335)."""
        now = self.clock.time()
        preamble = self.radios[index].preamble_s
        return any(r.start <= now < r.end and (r.synced or now < r.start + preamble)
                   for r in self._receiving[index])


class SimRadio(Radio):
    def __init__(self, medium: SimMedium, index: int, modulation: Modulation):
        self.medium, self.index, self.modulation = medium, index, modulation
        self.listening = False
        self._receiver: Receiver | None = None
        self.preamble_s = (modulation.preamble + 4.25) * modulation.symbol_s
        medium.attach(self)

    def open(self, receiver: Receiver) -> None:
        self._receiver, self.listening = receiver, True

    def close(self) -> None:
        self.listening = False

    def transmit(self, frame: bytes) -> float:
        if not self.listening:
            raise RadioError("simulated radio is not open")
        airtime = self.airtime(len(frame))
        self.medium.transmit(self.index, frame, airtime)
        return airtime

    def channel_busy(self) -> bool:
        return self.medium.busy(self.index)

    def deliver(self, frame: bytes, rssi: float, snr: float) -> None:
        if self._receiver is not None and self.listening:
            self._receiver(frame, rssi, snr)


def load_links(path: str | Path, default_loss: float) -> tuple[int, dict[tuple[int, int], Link]]:
    """A surveyed site: ``{"links": [{"a": 0, "b": 1, "snr_db": 4.5, "loss": 0.1, "one_way": false}, …]}``
    with node indices from 0; ``snr_db`` defaults to 5 and ``loss`` to ``default_loss``. Returns the node
    count and the links."""
    try:
        data = json.loads(Path(path).read_text())
        links: dict[tuple[int, int], Link] = {}
        for entry in data["links"]:
            a, b = int(entry["a"]), int(entry["b"])
            link = Link(float(entry.get("snr_db", 5.0)), float(entry.get("loss", default_loss)))
            if a == b or a < 0 or b < 0 or not 0 <= link.loss <= 1:
                raise ValueError(f"bad link {entry}")
            links[(a, b)] = link
            if not entry.get("one_way", False):
                links[(b, a)] = link
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MeshError(f"link file {path}: {exc}") from None
    if not links:
        raise MeshError(f"link file {path} has no links")
    nodes = max(max(a, b) for a, b in links) + 1
    return int(data.get("nodes", nodes)), links


def build_topology(kind: str, nodes: int, loss: float, rng: random.Random) -> dict[tuple[int, int], Link]:
    """Symmetric links between node indices; SNR from placement, loss ``loss`` on every link."""
    edges: dict[tuple[int, int], float] = {}
    if kind == "line":
        edges = {(i, i + 1): rng.uniform(-5, 8) for i in range(nodes - 1)}
    elif kind == "star":
        edges = {(0, i): rng.uniform(-5, 8) for i in range(1, nodes)}
    elif kind == "grid":
        columns = math.ceil(math.sqrt(nodes))
        for i in range(nodes):
            if (i + 1) % columns and i + 1 < nodes:
                edges[(i, i + 1)] = rng.uniform(-5, 8)
            if i + columns < nodes:
                edges[(i, i + columns)] = rng.uniform(-5, 8)
    elif kind == "random":
        points = [(rng.random(), rng.random()) for _ in range(nodes)]
        radius = 0.3
        while True:
            edges = {}
            for i in range(nodes):
                for j in range(i + 1, nodes):
                    d = math.dist(points[i], points[j])
                    if d <= radius:
                        edges[(i, j)] = 10.0 - 25.0 * d / radius  # weaker with distance
            if _connected(nodes, edges):
                break
            radius *= 1.15
    else:
        raise ValueError(f"topology must be one of {', '.join(TOPOLOGIES)}")
    links = {}
    for (a, b), snr in edges.items():
        links[(a, b)] = Link(snr, loss)
        links[(b, a)] = Link(snr, loss)
    return links


def _connected(nodes: int, edges: dict[tuple[int, int], float]) -> bool:
    seen, todo = {0}, [0]
    while todo:
        a = todo.pop()
        for x, y in edges:
            for u, v in ((x, y), (y, x)):
                if u == a and v not in seen:
                    seen.add(v)
                    todo.append(v)
    return len(seen) == nodes


def node_id(index: int) -> int:
    return 0xE5000000 | (index + 1)


@dataclass
@defaults_from(mesh_settings.SETTINGS, "mesh", frequency_mhz="frequency", beacon_interval_s="beacon_interval")
class SimConfig:
    """A simulated network; region, frequency and beacon interval default to the kit's settings."""

    region: str
    frequency_mhz: float
    beacon_interval_s: float
    nodes: int = 12
    topology: str = "grid"
    loss: float = 0.1
    messages: int = 40
    seed: int = 1
    modulation: Modulation = field(default_factory=Modulation)
    interval_s: float = 30.0
    payload_chars: int = 120
    emergency_share: float = 0.0
    params: RoutingParams = field(default_factory=RoutingParams)
    settle_s: float = 600.0
    gateways: tuple[int, ...] = (0,)  # nodes whose beacons report cellular coverage


class Simulation:
    """Nodes on one medium; call :meth:`run` or drive ``clock`` yourself in tests."""

    def __init__(self, config: SimConfig, links: dict[tuple[int, int], Link] | None = None):
        if config.nodes < 2 or config.nodes > 254:
            raise ValueError("nodes must be 2..254")
        if not 0.0 <= config.loss < 1.0:
            raise ValueError("loss must be in [0, 1)")
        self.config = config
        self.rng = random.Random(config.seed)
        self.clock = VirtualClock()
        self.links = links if links is not None else build_topology(
            config.topology, config.nodes, config.loss, self.rng)
        self.medium = SimMedium(self.clock, self.links, random.Random(self.rng.random()))
        key = NetworkKey.from_secret(random.Random(config.seed ^ 0x5EED).randbytes(16))
        band = region(config.region).band(config.frequency_mhz)
        self.inbox: dict[int, list[Message]] = {i: [] for i in range(config.nodes)}
        self.arrival: dict[tuple[int, int, int], float] = {}  # (receiver, source, message id) → first arrival
        self.status: dict[int, dict[int, bool]] = {i: {} for i in range(config.nodes)}
        self.nodes: list[MeshNode] = []
        for i in range(config.nodes):
            radio = SimRadio(self.medium, i, config.modulation)
            node = MeshNode(
                node_id(i), key, radio, self.clock, AirtimeLedger(band), params=config.params,
                rng=random.Random(self.rng.random()),
                on_message=lambda message, i=i: self._received(i, message),
                on_status=lambda mid, ok, i=i: self.status[i].__setitem__(mid, ok),
                beacon=lambda i=i: Beacon(battery_pct=80, queue_depth=self.nodes[i].queue_depth(),
                                          cellular=i in config.gateways, neighbours=len(self.medium.neighbours(i))),
                beacon_interval_s=config.beacon_interval_s)
            self.nodes.append(node)
        self.index_of = {n.node_id: i for i, n in enumerate(self.nodes)}

    def _received(self, index: int, message: Message) -> None:
        self.inbox[index].append(message)
        self.arrival.setdefault((index, message.source, message.message_id), self.clock.time())

    def hops(self, source: int) -> dict[int, int]:
        """Radio hops from ``source`` to every node it can reach (breadth-first over the links)."""
        distance, frontier = {source: 0}, [source]
        while frontier:
            following = []
            for a in frontier:
                for b in self.medium.neighbours(a):
                    if b not in distance:
                        distance[b] = distance[a] + 1
                        following.append(b)
            frontier = following
        return distance

    def start(self) -> None:
        for node in self.nodes:
            node.start()

    def run(self) -> dict:
        started = time.perf_counter()
        config = self.config
        self.start()
        warmup = config.beacon_interval_s if config.beacon_interval_s > 0 else 0.0
        traffic = random.Random(config.seed + 1)
        sent: list[tuple[int, int, int, float]] = []  # (source, destination, message id, time)

        def send(k: int) -> None:
            source, destination = traffic.sample(range(config.nodes), 2)
            priority = Priority.EMERGENCY if traffic.random() < config.emergency_share else Priority.ROUTINE
            text = f"msg {k} " + "x" * max(0, config.payload_chars - 8)
            mid = self.nodes[source].send(self.nodes[destination].node_id,
                                          SmsRelay("+254700000000", text[:config.payload_chars]), priority)
            sent.append((source, destination, mid, self.clock.time()))

        for k in range(config.messages):
            self.clock.call_at(warmup + k * config.interval_s + traffic.uniform(0, config.interval_s / 2),
                               send, k)
        end = warmup + config.messages * config.interval_s + config.settle_s
        self.clock.run_until(end)
        return self.report(sent, time.perf_counter() - started)

    def report(self, sent: list[tuple[int, int, int, float]], wall_s: float) -> dict:
        delivered, duplicates, latencies = 0, 0, []
        for source, destination, mid, sent_at in sent:
            copies = [m for m in self.inbox[destination]
                      if m.message_id == mid and m.source == self.nodes[source].node_id]
            duplicates += max(0, len(copies) - 1)
            if copies:
                delivered += 1
                latencies.append(self.arrival[(destination, self.nodes[source].node_id, mid)] - sent_at)
        acked = sum(1 for source, _, mid, _ in sent if self.status[source].get(mid))
        # Messages to nodes further than the hop limit allows can never arrive: a planning result, not loss.
        reach = self.config.params.hop_limit + 1
        out_of_reach = sum(1 for source, destination, _, _ in sent
                           if self.hops(source).get(destination, reach + 1) > reach)
        in_reach = len(sent) - out_of_reach
        transmissions = sum(n.counters.transmissions for n in self.nodes)
        airtime = sum(n.counters.airtime_s for n in self.nodes)
        worst = max(max_window_airtime(n.transmissions) for n in self.nodes)
        limit = self.nodes[0].ledger.band.duty_cycle
        kinds = Counter(parse_header(frame).kind.name.lower() for _, _, frame in self.medium.log)
        totals = {k: sum(getattr(n.counters, k) for n in self.nodes)
                  for k in ("relayed", "relays_cancelled", "retries", "relay_retries", "acks_sent", "gave_up",
                            "deferred_by_duty_cycle", "forged", "replayed")}
        return {
            "nodes": self.config.nodes, "topology": self.config.topology, "loss": self.config.loss,
            "seed": self.config.seed, "sent": len(sent), "delivered": delivered,
            "delivery_ratio": round(delivered / len(sent), 4) if sent else None,
            "out_of_reach": out_of_reach,
            "delivery_ratio_in_reach": round(min(delivered, in_reach) / in_reach, 4) if in_reach else None,
            "acked": acked, "duplicate_deliveries": duplicates,
            "latency_s_median": round(statistics.median(latencies), 2) if latencies else None,
            "latency_s_p90": round(sorted(latencies)[int(0.9 * (len(latencies) - 1))], 2) if latencies else None,
            "transmissions": transmissions,
            "transmissions_per_delivered": round(transmissions / delivered, 2) if delivered else None,
            "transmissions_by_kind": dict(sorted(kinds.items())),
            "message_transmissions_per_delivered":  # without the status beacons' share
                round((transmissions - kinds.get("beacon", 0)) / delivered, 2) if delivered else None,
            "airtime_s": round(airtime, 3), "max_duty_cycle": round(worst / WINDOW_S, 5),
            "duty_cycle_limit": limit, "collisions": self.medium.collisions,
            "virtual_time_s": round(self.clock.time(), 1), "wall_time_s": round(wall_s, 3),
            "spreading_factor": self.config.modulation.spreading_factor,
            "bandwidth_khz": self.config.modulation.bandwidth_hz / 1000,
            **totals,
        }


def simulate(**kwargs: object) -> dict:
    return Simulation(SimConfig(**kwargs)).run()  # type: ignore[arg-type]

