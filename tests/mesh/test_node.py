"""The routing node on the simulator's virtual clock: security, storms, partitions, ACKs, priorities."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evy.mesh.dutycycle import WINDOW_S, max_window_airtime
from evy.mesh.frames import BROADCAST, HEADER_BYTES, Kind, Priority, parse_header
from evy.mesh.messages import Alert, SmsRelay
from evy.mesh.routing import RoutingParams
from evy.mesh.simulator import Link, SimConfig, Simulation, build_topology
from evy.mesh.state import NodeState


def make_sim(nodes: int, edges, loss: float = 0.0, seed: int = 1, **config) -> Simulation:
    links = {}
    for a, b in edges:
        links[(a, b)] = Link(5.0, loss)
        links[(b, a)] = Link(5.0, loss)
    sim = Simulation(SimConfig(nodes=nodes, seed=seed, beacon_interval_s=0, **config), links=links)
    sim.start()
    return sim


def line(n):
    return [(i, i + 1) for i in range(n - 1)]


def clique(n):
    return list(itertools.combinations(range(n), 2))


def sms(text="help needed at the bridge"):
    return SmsRelay("+254700000001", text)


def inbox_ids(sim, index):
    return [(m.source, m.message_id) for m in sim.inbox[index]]


def test_unicast_over_three_hops_is_delivered_once_and_acknowledged():
    sim = make_sim(4, line(4))
    mid = sim.nodes[0].send(sim.nodes[3].node_id, sms())
    sim.clock.run_until(120)
    assert inbox_ids(sim, 3) == [(sim.nodes[0].node_id, mid)]
    assert sim.status[0] == {mid: True}
    assert sim.inbox[3][0].decoded() == sms()
    # The ACK taught node 0 the next hop towards node 3 and vice versa.
    assert sim.nodes[0].routes.lookup(sim.nodes[3].node_id, sim.clock.time()).next_hop == sim.nodes[1].node_id & 0xFF
    assert sim.nodes[3].routes.lookup(sim.nodes[0].node_id, sim.clock.time()).next_hop == sim.nodes[2].node_id & 0xFF


def test_second_message_follows_learned_next_hops_without_flooding():
    sim = make_sim(5, [(0, 1), (1, 2), (0, 3), (3, 4), (4, 2), (1, 3)])
    sim.nodes[0].send(sim.nodes[2].node_id, sms("first"))
    sim.clock.run_until(200)
    before = len(sim.medium.log)
    sim.nodes[0].send(sim.nodes[2].node_id, sms("second"))
    sim.clock.run_until(400)
    frames = [parse_header(f) for _, _, f in sim.medium.log[before:]]
    data = [h for h in frames if h.kind is Kind.SMS_RELAY]
    assert all(h.next_hop != 0 for h in data)  # directed, not flooded
    assert len(data) <= 3  # origin plus at most the relays on one path
    assert [m.decoded().text for m in sim.inbox[2]] == ["first", "second"]


def test_broadcast_storm_in_a_clique_is_at_most_one_transmission_per_node():
    sim = make_sim(8, clique(8))
    sim.nodes[0].send(BROADCAST, Alert(3, "flood warning: move to high ground"), Priority.EMERGENCY)
    sim.clock.run_until(300)
    per_node = Counter(sender for _, sender, _ in sim.medium.log)
    assert max(per_node.values()) == 1 and sum(per_node.values()) <= 8
    assert all(len(sim.inbox[i]) == 1 for i in range(1, 8))
    assert sum(n.counters.relays_cancelled for n in sim.nodes) > 0


@pytest.mark.parametrize("topology", ["grid", "random", "star", "line"])
def test_each_node_sends_each_flooded_frame_at_most_once(topology):
    links = build_topology(topology, 12, 0.1, __import__("random").Random(3))
    sim = Simulation(SimConfig(nodes=12, seed=3, beacon_interval_s=0), links=links)
    sim.start()
    for k in range(6):
        sim.nodes[k].send(BROADCAST, Alert(1, f"alert {k}"))
        sim.nodes[k + 6].send(sim.nodes[k].node_id, sms(f"unicast {k}"))  # floods too: no routes yet
        sim.clock.run_until(60.0 * (k + 1))
    flooded = [(sender, parse_header(f)) for _, sender, f in sim.medium.log if parse_header(f).next_hop == 0]
    copies = Counter((sender, h.source, h.packet_id) for sender, h in flooded)
    assert max(copies.values()) == 1
    assert any(h.kind is Kind.SMS_RELAY for _, h in flooded)


def test_hop_limit_bounds_the_reach():
    sim = make_sim(6, line(6), params=RoutingParams(hop_limit=3, origin_retries=1))
    sim.nodes[0].send(sim.nodes[4].node_id, sms("four hops"))
    sim.nodes[0].send(sim.nodes[5].node_id, sms("five hops"))
    sim.clock.run_until(600)
    assert [m.decoded().text for m in sim.inbox[4]] == ["four hops"]
    assert sim.inbox[5] == []
    assert sorted(sim.status[0].values()) == [False, True]


def test_lost_acks_never_cause_duplicate_deliveries():
    sim = make_sim(2, [(0, 1)])
    sim.links[(1, 0)] = Link(5.0, 1.0 - 1e-9)  # node 0 never hears node 1: every ACK is lost
    sim.medium.links = sim.links
    mid = sim.nodes[0].send(sim.nodes[1].node_id, sms())
    sim.clock.run_until(600)
    assert inbox_ids(sim, 1) == [(sim.nodes[0].node_id, mid)]
    assert sim.nodes[0].counters.retries == 3  # 3 retries from the origin, then it gives up
    assert sim.nodes[1].counters.duplicate_deliveries_suppressed == 3
    assert sim.nodes[1].counters.acks_sent == 4
    assert sim.status[0] == {mid: False}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_lossy_links_deliver_each_message_at_most_once(seed):
    sim = make_sim(4, line(4), loss=0.35, seed=seed)
    sent = [sim.nodes[0].send(sim.nodes[3].node_id, sms(f"m{k}")) for k in range(5)]
    sim.clock.run_until(1200)
    received = inbox_ids(sim, 3)
    assert len(received) == len(set(received))
    assert {mid for _, mid in received} <= set(sent)


def test_three_segment_reply_crosses_the_mesh_intact():
    sim = make_sim(4, line(4), loss=0.1, seed=5)
    reply = "Keep pressure on the wound and wait for the boat at the school. " * 7
    sim.nodes[3].send(sim.nodes[0].node_id, SmsRelay("+254711000222", reply))
    sim.clock.run_until(600)
    assert [m.decoded() for m in sim.inbox[0]] == [SmsRelay("+254711000222", reply)]
    assert len(reply) > 2 * 200


def test_partition_heals_and_routes_expire():
    params = RoutingParams(route_ttl_s=300)
    sim = make_sim(4, line(4), params=params)
    a, d = sim.nodes[0], sim.nodes[3]
    a.send(d.node_id, sms("before"))
    sim.clock.run_until(100)
    assert a.routes.lookup(d.node_id, sim.clock.time()) is not None
    sim.medium.partition({0, 1}, {2, 3})
    mid = a.send(d.node_id, sms("during"))
    sim.clock.run_until(400)
    assert sim.status[0][mid] is False
    assert a.routes.lookup(d.node_id, sim.clock.time()) is None  # failed route dropped
    sim.medium.heal()
    mid = a.send(d.node_id, sms("after"))
    sim.clock.run_until(600)
    assert sim.status[0][mid] is True
    assert [m.decoded().text for m in sim.inbox[3]] == ["before", "after"]
    sim.clock.run_until(600 + params.route_ttl_s + 1)
    assert a.routes.lookup(d.node_id, sim.clock.time()) is None  # expired without traffic


def test_rerouting_around_a_failed_relay():
    # Two paths 0-1-3 and 0-2-3: when the learned relay is cut off, traffic floods and finds the other.
    sim = make_sim(4, [(0, 1), (1, 3), (0, 2), (2, 3)])
    sim.nodes[0].send(sim.nodes[3].node_id, sms("one"))
    sim.clock.run_until(100)
    via = sim.nodes[0].routes.lookup(sim.nodes[3].node_id, 100).next_hop
    cut = 1 if via == sim.nodes[1].node_id & 0xFF else 2
    sim.medium.partition({cut}, {0, 1, 2, 3} - {cut})
    mid = sim.nodes[0].send(sim.nodes[3].node_id, sms("two"))
    sim.clock.run_until(600)
    assert sim.status[0][mid] is True
    assert sim.nodes[0].routes.lookup(sim.nodes[3].node_id, 600).next_hop == sim.nodes[3 - cut].node_id & 0xFF


def _captured_frames(sim):
    return [f for _, _, f in sim.medium.log]


def test_forged_corrupted_and_replayed_frames_are_never_accepted():
    sim = make_sim(3, line(3))
    sim.nodes[0].send(sim.nodes[2].node_id, sms())
    sim.clock.run_until(120)
    captured = _captured_frames(sim)
    target = sim.nodes[2]
    delivered_before = list(sim.inbox[2])
    forged_before = target.counters.forged
    duplicates_before = target.counters.duplicates
    for k, raw in enumerate(captured):
        flipped = bytearray(raw)
        flipped[HEADER_BYTES + 2] ^= 0x10
        target.receive(bytes(flipped))  # corrupted copy of a known packet id: authenticated first, forged
        flipped[9:13] = (0x7FFFF000 + k).to_bytes(4, "little")
        target.receive(bytes(flipped))  # corrupted, with an unseen packet id: fails authentication
        fake = bytearray(raw)
        fake[9:13] = (0x7FFFFF00 + k).to_bytes(4, "little")  # new packet id, same ciphertext: forged
        target.receive(bytes(fake))
        target.receive(raw)  # plain replay: a duplicate
    assert sim.inbox[2] == delivered_before
    assert target.counters.forged - forged_before == 3 * len(captured)
    assert target.counters.duplicates - duplicates_before == len(captured)
    assert target.counters.delivered == 1


def test_replay_after_the_duplicate_cache_evicted_the_entry_is_rejected(tmp_path):
    sim = make_sim(2, [(0, 1)])
    receiver = sim.nodes[1]
    receiver.state = NodeState(tmp_path / "state.json", dup_cache_size=4)
    first = sim.nodes[0].send(receiver.node_id, sms("original"))
    sim.clock.run_until(60)
    original = next(f for _, s, f in sim.medium.log if s == 0 and parse_header(f).kind is Kind.SMS_RELAY)
    for k in range(6):  # push the original out of the 4-entry duplicate cache
        sim.nodes[0].send(receiver.node_id, sms(f"filler {k}"))
        sim.clock.run_until(60 + 60 * (k + 1))
    header = parse_header(original)
    assert not receiver.state.is_duplicate(header.source, header.packet_id)
    replayed_before = receiver.counters.replayed
    receiver.receive(original)
    assert receiver.counters.replayed == replayed_before + 1
    assert [m.message_id for m in sim.inbox[1]].count(first) == 1
    # And after a restart the persisted window still rejects it.
    receiver.state = NodeState(tmp_path / "state.json", dup_cache_size=4)
    receiver.receive(original)
    assert receiver.counters.replayed == replayed_before + 2
    assert [m.message_id for m in sim.inbox[1]].count(first) == 1


def test_emergency_traffic_uses_the_half_routine_traffic_leaves():
    sim = make_sim(2, [(0, 1)], frequency_mhz=868.1)  # a 1 % sub-band: 36 s per hour
    node = sim.nodes[0]
    node.ledger.record(-20.0, 17.9)  # routine share nearly used
    routine = node.send(BROADCAST, Alert(0, "routine " + "x" * 150))
    sim.clock.run_until(30)
    assert node.counters.transmissions == 0 and node.counters.deferred_by_duty_cycle >= 1
    node.send(BROADCAST, Alert(3, "dam breach"), Priority.EMERGENCY)
    sim.clock.run_until(60)
    assert node.counters.transmissions == 1
    assert [m.decoded().text for m in sim.inbox[1]] == ["dam breach"]
    sim.clock.run_until(WINDOW_S + 60)  # the routine message waits until the old airtime slid out
    assert node.counters.transmissions == 2 and routine in [m.message_id for m in sim.inbox[1]]


def test_the_transmit_queue_sends_the_most_urgent_class_first():
    """Lower Priority is more urgent; a life threat travels in the emergency class, in its turn."""
    sim = make_sim(2, [(0, 1)])
    node = sim.nodes[0]
    node.send(BROADCAST, Alert(0, "on air first: the radio was idle"))
    for text, priority in (("beacon-like", Priority.BACKGROUND), ("notice", Priority.ROUTINE),
                           ("fire", Priority.LIFE_THREATENING), ("flood", Priority.EMERGENCY),
                           ("help reply", Priority.COMMAND)):
        node.send(BROADCAST, Alert(1, text), priority)
    sim.clock.run_until(120)
    assert [m.decoded().text for m in sim.inbox[1]] == [
        "on air first: the radio was idle", "fire", "flood", "notice", "help reply", "beacon-like"]
    assert [m.priority for m in sim.inbox[1]][1:] == [Priority.EMERGENCY, Priority.EMERGENCY, Priority.ROUTINE,
                                                      Priority.ROUTINE, Priority.BACKGROUND]


def test_duty_cycle_is_never_exceeded_under_overload():
    config = SimConfig(nodes=6, topology="line", loss=0.1, messages=400, seed=2, interval_s=2.0,
                       frequency_mhz=868.1, beacon_interval_s=0, settle_s=WINDOW_S)
    sim = Simulation(config)
    result = sim.run()
    for node in sim.nodes:
        assert max_window_airtime(node.transmissions) <= 0.01 * WINDOW_S + 1e-6
    assert result["max_duty_cycle"] <= 0.01
    assert result["deferred_by_duty_cycle"] > 0  # the limit was actually reached


def test_low_battery_nodes_relay_less():
    sim = make_sim(3, [(0, 1), (1, 2)])
    sim.nodes[1].battery = lambda: 10  # below the critical level
    sim.nodes[0].send(BROADCAST, Alert(1, "routine notice"))
    sim.clock.run_until(60)
    assert sim.inbox[2] == []
    sim.nodes[0].send(BROADCAST, Alert(3, "evacuate"), Priority.EMERGENCY)
    sim.clock.run_until(120)
    assert [m.decoded().text for m in sim.inbox[2]] == ["evacuate"]


def test_beacons_tell_where_the_gateway_is():
    sim = Simulation(SimConfig(nodes=4, topology="line", loss=0.0, seed=1, beacon_interval_s=120),
                     links=build_topology("line", 4, 0.0, __import__("random").Random(1)))
    sim.start()
    sim.clock.run_until(400)
    assert sim.nodes[3].gateways() == [sim.nodes[0].node_id]  # node 0 reports cellular coverage
    assert sim.nodes[3].peers[sim.nodes[0].node_id].hops == 3


def test_simulation_is_reproducible_from_its_seed():
    def run(seed):
        result = Simulation(SimConfig(nodes=8, topology="random", loss=0.15, messages=10, seed=seed)).run()
        result.pop("wall_time_s")
        return result

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_offload_request_and_response_between_a_small_and_a_big_node():
    from evy.mesh.messages import Beacon, OffloadRequest, OffloadResponse

    sim = make_sim(3, line(3))
    small, big = sim.nodes[0], sim.nodes[2]
    big.beacon_source = lambda: Beacon(battery_pct=255, queue_depth=0, cellular=False, big_model=True)
    big.beacon_interval_s = 60
    big._send_beacon()
    sim.clock.run_until(30)
    assert small.offload_targets() == [big.node_id] and small.gateways() == []

    def answer(message):
        request = message.decoded()
        if isinstance(request, OffloadRequest):
            big.send(message.source, OffloadResponse(message.message_id, f"answer to: {request.text}"))

    big.on_message = answer
    request_id = small.send(big.node_id, OffloadRequest("how to purify water without fuel?", max_chars=300))
    sim.clock.run_until(300)
    responses = [m.decoded() for m in sim.inbox[0] if m.kind is Kind.OFFLOAD_RESPONSE]
    assert responses == [OffloadResponse(request_id, "answer to: how to purify water without fuel?")]


def test_a_failing_application_callback_does_not_break_the_node():
    sim = make_sim(2, [(0, 1)])

    def broken(message):
        raise RuntimeError("pipeline bug")

    sim.nodes[1].on_message = broken
    mid = sim.nodes[0].send(sim.nodes[1].node_id, sms())
    sim.clock.run_until(60)
    assert sim.status[0] == {mid: True}  # still acknowledged


def test_a_transient_radio_failure_is_retried_not_lost():
    from evy.mesh.errors import RadioError

    sim = make_sim(2, [(0, 1)])
    radio = sim.nodes[0].radio
    real_transmit, failures = radio.transmit, []

    def flaky(frame):
        if not failures:
            failures.append(frame)
            raise RadioError("SX1276 still transmitting the previous frame")
        return real_transmit(frame)

    radio.transmit = flaky
    mid = sim.nodes[0].send(sim.nodes[1].node_id, sms())
    sim.clock.run_until(60)
    assert failures and sim.status[0] == {mid: True} and len(sim.inbox[1]) == 1


def test_a_message_whose_fragment_is_lost_reports_failure_once():
    sim = make_sim(2, [(0, 1)])
    sim.links[(0, 1)] = Link(5.0, 1.0 - 1e-9)
    mid = sim.nodes[0].send(sim.nodes[1].node_id, SmsRelay("+254700000001", "long " * 120))
    sim.clock.run_until(900)
    assert sim.status[0] == {mid: False}
    assert sim.nodes[0]._outgoing == {}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzzed_frames_never_crash_a_node_nor_deliver_anything(data):
    sim = make_sim(2, [(0, 1)])
    sim.nodes[0].send(sim.nodes[1].node_id, sms("genuine"))
    sim.clock.run_until(30)
    genuine = [f for _, _, f in sim.medium.log]
    target = sim.nodes[1]
    delivered = target.counters.delivered
    for _ in range(data.draw(st.integers(1, 8))):
        base = bytearray(data.draw(st.sampled_from(genuine)))
        mutation = data.draw(st.sampled_from(["flip", "truncate", "extend", "random", "splice"]))
        if mutation == "flip":
            for _ in range(data.draw(st.integers(1, 4))):
                base[data.draw(st.integers(0, len(base) - 1))] ^= 1 << data.draw(st.integers(0, 7))
            base[9:13] = data.draw(st.binary(min_size=4, max_size=4))  # an unseen packet id
        elif mutation == "truncate":
            base = base[:data.draw(st.integers(0, len(base) - 1))]
        elif mutation == "extend":
            base += data.draw(st.binary(min_size=1, max_size=40))
        elif mutation == "random":
            base = bytearray(data.draw(st.binary(max_size=300)))
        else:
            other = data.draw(st.sampled_from(genuine))
            cut = data.draw(st.integers(0, min(len(base), len(other))))
            base = base[:cut] + bytearray(other[cut:])
        target.receive(bytes(base), -90.0, 3.0)
    sim.clock.run_until(120)
    assert target.counters.delivered == delivered
    assert [m.decoded().text for m in sim.inbox[1]] == ["genuine"]


def test_no_bookkeeping_is_left_behind_after_traffic_settles():
    sim = Simulation(SimConfig(nodes=12, topology="grid", loss=0.2, messages=30, seed=5, beacon_interval_s=300))
    sim.run()
    for node in sim.nodes:  # quiet the beacons, then let every timer run out
        node._beacon_timer.cancel()
    sim.clock.run_until(sim.clock.time() + 3600)
    for node in sim.nodes:
        leftovers = (node._outgoing, node._open_messages)
        assert not any(leftovers) and node.relays.pending() == 0, [len(x) for x in leftovers]
        assert node._reassembler.pending() == 0


def test_beacons_give_way_on_a_busy_channel():
    from evy.mesh.messages import Beacon

    sim = make_sim(2, [(0, 1)])
    node = sim.nodes[0]
    node.beacon_source = lambda: Beacon(battery_pct=90, queue_depth=0, cellular=True)
    node.beacon_interval_s = 600
    for k in range(100):  # a neighbour keeps the channel 80 % busy
        sim.clock.call_at(k * 1.2, node._heard.append, (k * 1.2, 0.96))
    sim.clock.run_until(110)
    assert node.channel_utilisation() > 0.25
    node._send_beacon()
    assert node.counters.beacons_skipped == 1 and node.counters.originated == 0
    sim.clock.run_until(400)
    assert node.channel_utilisation() < 0.25
    node._send_beacon()
    assert node.counters.originated == 1


def test_a_relay_never_sends_a_frame_back_where_it_came_from():
    sim = make_sim(3, line(3))
    a, b, c = sim.nodes
    a.routes.learn(c.node_id, b.node_id & 0xFF, 2, 0.0)
    b.routes.learn(c.node_id, a.node_id & 0xFF, 3, 0.0)  # a stale route pointing back to a
    mid = a.send(c.node_id, sms("no loops"))
    sim.clock.run_until(60)
    assert [m.message_id for m in sim.inbox[2]] == [mid] and sim.status[0] == {mid: True}
    from_b = [parse_header(f) for _, sender, f in sim.medium.log
              if sender == 1 and parse_header(f).kind is Kind.SMS_RELAY]
    assert from_b and all(h.next_hop != a.node_id & 0xFF for h in from_b)
