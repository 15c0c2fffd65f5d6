"""The origin's side of the mesh hand-off on the simulator's virtual clock (the real MeshNode code, a real
SQLite store): the most urgent events go first, one priority class and at most two frames per message, one
message in flight; only the neighbour's UplinkAck deletes events (not the mesh's own ACK); an unconfirmed
hand-off goes again after the timeout; routine hand-offs stay within their airtime share."""

from __future__ import annotations

import random

import pytest

from evy.config import parse
from evy.fleet.handoff import MAX_HANDOFF_BODY, Handoff, mesh_priority
from evy.mesh.frames import Kind, Priority
from evy.mesh.messages import Beacon, UplinkAck, UplinkHandoff, encode
from evy.mesh.simulator import Link, SimConfig, Simulation
from evy.store import Store, sample, uplink

ORIGIN, RELAY = 0, 1


class SimPort:
    """The MeshPort a kit's MeshLink gives the uplink, over a simulator node instead of a field node."""

    def __init__(self, sim: Simulation, index: int):
        self.sim, self.index, self.node = sim, index, sim.nodes[index]
        self.taken = 0
        self.fleet_ids: set[int] = set()
        self.reported: set[int] = set()

    def backhauls(self) -> list[int]:
        return self.node.backhauls()

    def airtime_allows(self, body_bytes: int, priority: Priority, routine_share: float) -> bool:
        return self.node.airtime_allows(body_bytes, priority, routine_share)

    def send_fleet(self, destination: int, message, priority: Priority) -> int:
        message_id = self.node.send(destination, message, priority)
        self.fleet_ids.add(message_id)
        return message_id

    def take_fleet(self):
        new = self.sim.inbox[self.index][self.taken:]
        self.taken += len(new)
        return [(m.source, m.priority, m.decoded()) for m in new if m.kind in (Kind.UPLINK_HANDOFF, Kind.UPLINK_ACK)]

    def take_fleet_outcomes(self):
        done = [(mid, ok) for mid, ok in self.sim.status[self.index].items()
                if mid in self.fleet_ids and mid not in self.reported]
        self.reported |= {mid for mid, _ in done}
        return done


def mesh(share: float = 0.25, timeout: float = 120.0):
    sim = Simulation(SimConfig(region="EU868", frequency_mhz=869.525, beacon_interval_s=30.0, nodes=2, seed=3),
                     links={(0, 1): Link(5.0, 0.0), (1, 0): Link(5.0, 0.0)})
    sim.nodes[RELAY].beacon_source = lambda: Beacon(battery_pct=80, queue_depth=0, cellular=False, backhaul=True)
    sim.start()
    sim.clock.run_until(40.0)  # a beacon round: the origin knows who has a backhaul
    config = parse("").replace(fleet__handoff_timeout=timeout, fleet__handoff_airtime_share=share)
    return sim, Handoff("kit-a", SimPort(sim, ORIGIN), config, clock=sim.clock.time)


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "evy.db") as opened:
        uplink.set_enabled(opened, True)
        rng = random.Random(5)
        for n in range(8):
            sample.conversation(opened, f"+2547110000{n:02d}", 1765100000.0 + n, rng)
        yield opened


def queued(store: Store) -> dict[int, int]:
    return {event.seq: event.priority for event in uplink.next_batch(store, limit=1000, topic="cases")}


def hand_offs(sim: Simulation) -> list[UplinkHandoff]:
    return [m.decoded() for m in sim.inbox[RELAY] if m.kind is Kind.UPLINK_HANDOFF]


def test_the_most_urgent_go_first_one_message_at_a_time_and_only_the_uplink_ack_deletes(store):
    sim, handoff = mesh()
    before = queued(store)
    assert {mesh_priority(p).emergency for p in before.values()} == {True, False}
    assert handoff.turn(store, False, publish=None)
    assert not handoff.turn(store, False, publish=None)  # one in flight
    sim.clock.run_until(sim.clock.time() + 30)
    [first] = hand_offs(sim)
    assert first.origin == "kit-a" and len(encode(first)) <= MAX_HANDOFF_BODY
    assert all(mesh_priority(e.priority).emergency for e in first.events)  # emergencies first, no routine mixed in
    most_urgent = sorted(before.items(), key=lambda item: (item[1], item[0]))
    assert [e.seq for e in first.events] == [seq for seq, _ in most_urgent[:len(first.events)]]
    assert list(sim.status[ORIGIN].values()) == [True]  # the mesh delivered it...
    handoff.turn(store, False, publish=None)
    assert set(queued(store)) == set(before)  # ...which deletes nothing: the broker has not said so

    sim.nodes[RELAY].send(sim.nodes[ORIGIN].node_id, UplinkAck("kit-b", tuple(e.seq for e in first.events)))
    sim.clock.run_until(sim.clock.time() + 30)
    handoff.turn(store, False, publish=None)
    assert set(queued(store)) == set(before), "an ack for another origin deletes nothing"

    sim.nodes[RELAY].send(sim.nodes[ORIGIN].node_id, UplinkAck("kit-a", tuple(e.seq for e in first.events)))
    sim.clock.run_until(sim.clock.time() + 30)
    assert handoff.turn(store, False, publish=None)  # the ack, then the next hand-off
    assert set(queued(store)) == set(before) - {e.seq for e in first.events}
    sim.clock.run_until(sim.clock.time() + 30)
    assert len(hand_offs(sim)) == 2 and hand_offs(sim)[1].events[0].seq not in {e.seq for e in first.events}


def test_an_unconfirmed_hand_off_goes_again_after_the_timeout_and_never_while_the_kit_is_connected(store):
    sim, handoff = mesh(timeout=60.0)
    assert not handoff.turn(store, True, publish=None)  # its own link is up: nothing goes over the mesh
    assert handoff.turn(store, False, publish=None)
    sim.clock.run_until(sim.clock.time() + 30)
    assert not handoff.turn(store, False, publish=None)
    sim.clock.run_until(sim.clock.time() + 40)  # past the timeout, no UplinkAck came
    assert handoff.turn(store, False, publish=None)
    sim.clock.run_until(sim.clock.time() + 30)
    first, again = hand_offs(sim)
    assert again == first  # the same events: a duplicate at worst, the cell keeps each id once


def test_routine_hand_offs_stay_within_their_airtime_share(store):
    sim, handoff = mesh(share=0.0)
    for seq, priority in queued(store).items():  # leave routine events only
        if mesh_priority(priority).emergency:
            uplink.acknowledged(store, [seq])
    assert queued(store)
    assert not handoff.turn(store, False, publish=None)
    sim.clock.run_until(sim.clock.time() + 30)
    assert hand_offs(sim) == []
