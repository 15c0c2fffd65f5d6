"""Forged copies of genuine frames: a node without the key must not steer routes, cancel relays or suppress
alerts by re-sending a packet id the network already carries (issue 10).

A forger hears every genuine frame. What it can make without the key: any header with junk ciphertext, a
genuine frame with flipped ciphertext or tag bits, and a genuine frame with the relay-rewritten fields
(hop limit, next hop, relay node) changed. Every such copy must count as forged and change nothing.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evy.mesh.airtime import Modulation
from evy.mesh.dutycycle import AirtimeLedger, region
from evy.mesh.frames import BROADCAST, HEADER_BYTES, Kind, Priority, parse_header
from evy.mesh.messages import Alert, SmsRelay
from evy.mesh.node import MeshNode
from evy.mesh.radio.udp import UdpRadio
from evy.mesh.routing import RoutingParams
from evy.mesh.service import LoopClock
from evy.mesh.simulator import Link, SimConfig, Simulation

from .conftest import free_udp_ports

FLAGS, NEXT_HOP, RELAY = 13, 17, 18  # offsets of the relay-rewritten header fields
HOP_LIMIT_SHIFT, HOP_LIMIT_MASK = 2, 0b00011100
FAST = Modulation(7, 125_000, 5, 8)

Forge = Callable[[bytes], bytes]


def junk_ciphertext(rng: random.Random) -> Forge:
    return lambda raw: raw[:HEADER_BYTES] + rng.randbytes(len(raw) - HEADER_BYTES)


def flipped_bits(rng: random.Random) -> Forge:
    def forge(raw: bytes) -> bytes:
        copy = bytearray(raw)
        for _ in range(rng.randint(1, 3)):
            copy[rng.randrange(HEADER_BYTES, len(copy))] ^= 1 << rng.randrange(8)
        return bytes(copy)
    return forge


def with_mutable_fields(hop_limit: int | None, next_hop: int, relay: int) -> Forge:
    def forge(raw: bytes) -> bytes:
        copy = bytearray(raw)
        start = copy[FLAGS] >> 5
        limit = start if hop_limit is None else min(hop_limit, start)
        copy[FLAGS] = copy[FLAGS] & ~HOP_LIMIT_MASK | limit << HOP_LIMIT_SHIFT
        copy[NEXT_HOP], copy[RELAY] = next_hop, relay
        return bytes(copy)
    return forge


@st.composite
def forgeries(draw) -> Forge:
    kind = draw(st.sampled_from(["junk", "flip", "mutable", "mutable+junk"]))
    rng = random.Random(draw(st.integers(0, 2**32)))
    if kind == "junk":
        return junk_ciphertext(rng)
    if kind == "flip":
        return flipped_bits(rng)
    rewrite = with_mutable_fields(draw(st.one_of(st.none(), st.integers(0, 7))), draw(st.integers(0, 255)),
                                  draw(st.integers(0, 255)))
    if kind == "mutable":
        return rewrite
    junk = junk_ciphertext(rng)
    return lambda raw: rewrite(junk(raw))


def make_sim(edges: list[tuple[int, int]], nodes: int, seed: int = 1) -> Simulation:
    links = {}
    for a, b in edges:
        links[(a, b)] = links[(b, a)] = Link(5.0, 0.0)
    sim = Simulation(SimConfig(nodes=nodes, seed=seed, beacon_interval_s=0), links=links)
    sim.start()
    return sim


def forge_after_every_genuine_frame(sim: Simulation, victims: list[int], forges: list[Forge]) -> list[int]:
    """Each victim's radio hands its node forged copies right after every genuine frame it hears, before
    any relay could answer. Returns a one-element counter of copies sent."""
    sent = [0]
    for index in victims:
        radio = sim.medium.radios[index]
        deliver = radio.deliver

        def tapped(frame: bytes, rssi: float, snr: float, deliver=deliver) -> None:
            deliver(frame, rssi, snr)
            for forge in forges:
                copy = forge(frame)
                if copy != frame:
                    sent[0] += 1
                    deliver(copy, rssi, snr)

        radio.deliver = tapped
    return sent


def routes(sim: Simulation) -> list[dict[int, tuple[int, int]]]:
    now = sim.clock.time()
    return [{d: (r.next_hop, r.hops) for d, r in node.routes.known(now).items()} for node in sim.nodes]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(forgeries(), min_size=1, max_size=3))
def test_forged_copies_neither_cancel_relays_nor_steer_routes(forges):
    clean = make_sim([(0, 1), (1, 2)], 3)
    attacked = make_sim([(0, 1), (1, 2)], 3)
    sent = forge_after_every_genuine_frame(attacked, [1], forges)
    for sim in (clean, attacked):
        sim.nodes[0].send(BROADCAST, Alert(3, "dam breach: move uphill"), Priority.EMERGENCY)
        sim.nodes[0].send(sim.nodes[2].node_id, SmsRelay("+254700000001", "boat at the school"))
        sim.clock.run_until(300)
    assert [m.decoded() for m in attacked.inbox[2]] == [m.decoded() for m in clean.inbox[2]]
    assert len(attacked.inbox[2]) == 2
    assert routes(attacked) == routes(clean)
    assert attacked.nodes[1].counters.relays_cancelled == clean.nodes[1].counters.relays_cancelled
    assert attacked.nodes[1].counters.forged == sent[0] > 0
    assert attacked.nodes[1].counters.duplicates == clean.nodes[1].counters.duplicates
    assert len(attacked.medium.log) == len(clean.medium.log)


def test_twenty_broadcast_alerts_all_get_through_a_forger():
    sim = make_sim([(0, 1), (1, 2)], 3)
    rng = random.Random(5)
    forges = [junk_ciphertext(rng), flipped_bits(rng), with_mutable_fields(None, 0, 0xEE),
              with_mutable_fields(1, 0x33, 0x01)]
    sent = forge_after_every_genuine_frame(sim, [1], forges)
    for k in range(20):
        sim.nodes[0].send(BROADCAST, Alert(3, f"alert {k}"), Priority.EMERGENCY)
        sim.clock.run_until(30.0 * (k + 1))
    delivered = [m.decoded().text for m in sim.inbox[2]]
    assert delivered == [f"alert {k}" for k in range(20)]
    assert sim.nodes[1].counters.forged == sent[0] >= 20 * len(forges)
    assert sim.nodes[1].counters.relays_cancelled == 0


def test_unicast_transmissions_unchanged_by_route_poisoning():
    edges = [(0, 1), (1, 2), (2, 3)]
    clean, attacked = make_sim(edges, 4), make_sim(edges, 4)
    # Copies claiming each source is a direct neighbour (hop limit = hop start) through a made-up relay.
    forges = [with_mutable_fields(None, 0, 0xEE), junk_ciphertext(random.Random(1))]
    sent = forge_after_every_genuine_frame(attacked, [0, 1, 2, 3], forges)
    for sim in (clean, attacked):
        for k in range(10):
            sim.nodes[0].send(sim.nodes[3].node_id, SmsRelay("+254700000001", f"report {k}"))
            sim.clock.run_until(120.0 * (k + 1))
    assert len(attacked.inbox[3]) == len(clean.inbox[3]) == 10
    assert routes(attacked) == routes(clean)
    assert len(attacked.medium.log) == len(clean.medium.log)
    assert sum(n.counters.forged for n in attacked.nodes) == sent[0]


def test_forger_on_the_udp_twin_suppresses_no_alert(key):
    """A — B — C over the UDP radio twin; a forger in range of A and B re-sends every alert it hears from A
    with junk ciphertext, flipped bits or rewritten relay fields, on air before B's relay is due (without
    the fix, 0 of 20 alerts reached C)."""
    alerts = 20

    async def main():
        loop = asyncio.get_running_loop()
        ports = free_udp_ports(4)
        address = [("127.0.0.1", p) for p in ports]
        peers = {0: [1, 3], 1: [0, 2], 2: [1], 3: [1]}
        radios = [UdpRadio(FAST, address[i], [address[j] for j in peers[i]], loop, rng=random.Random(i))
                  for i in range(4)]
        band = region("EU868").band(869.525)
        inbox: list[str] = []

        def deliver(message) -> None:
            inbox.append(message.decoded().text)

        # Hop limit 1: C does not relay on, so alerts 0.6 s apart never collide with the one before.
        nodes = [MeshNode(0xE5000001 + i, key, radios[i], LoopClock(loop), AirtimeLedger(band),
                          params=RoutingParams(hop_limit=1), rng=random.Random(i),
                          on_message=deliver if i == 2 else None) for i in range(3)]
        rng = random.Random(7)
        forges = [junk_ciphertext(rng), flipped_bits(rng), with_mutable_fields(None, 0x42, 0xEE)]
        forged_sent: set[bytes] = set()

        def forger(frame: bytes, rssi: float, snr: float) -> None:
            header = parse_header(frame)
            if header.kind is Kind.ALERT and header.relay == nodes[0].node_id & 0xFF:
                copy = forges[header.packet_id % len(forges)](frame)
                forged_sent.add(copy)
                # A short gap: sent at once it would overlap the genuine frame's end at B and jam it, which
                # takes no forgery.
                loop.call_later(0.02, radios[3].transmit, copy)

        radios[3].open(forger)
        heard_forged = [0]
        receive = nodes[1].receive

        def tap(frame: bytes, rssi: float = 0.0, snr: float = 0.0) -> None:
            heard_forged[0] += frame in forged_sent
            receive(frame, rssi, snr)

        nodes[1].receive = tap
        for node in nodes:
            node.start()
        for k in range(alerts):
            nodes[0].send(BROADCAST, Alert(3, f"alert {k}"), Priority.EMERGENCY)
            await asyncio.sleep(0.6)
        for _ in range(100):  # the last relay may still be on its way on a loaded machine
            if len(inbox) >= alerts:
                break
            await asyncio.sleep(0.1)
        for node in nodes:
            node.stop()
        radios[3].close()
        return inbox, len(forged_sent), heard_forged[0], nodes[1].counters

    inbox, sent, heard, counters = asyncio.run(main())
    assert inbox == [f"alert {k}" for k in range(alerts)]
    assert sent == alerts and heard > 0
    assert counters.forged == heard and counters.relays_cancelled == 0
