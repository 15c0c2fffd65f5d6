"""The UDP twin of the radio on loopback, and nodes talking through it in real time."""

from __future__ import annotations

import asyncio
import random

import pytest

from evy.mesh.airtime import Modulation
from evy.mesh.dutycycle import AirtimeLedger, region
from evy.mesh.errors import RadioError
from evy.mesh.messages import SmsRelay
from evy.mesh.node import MeshNode
from evy.mesh.radio.udp import UdpRadio, parse_address
from evy.mesh.service import LoopClock

from .conftest import free_udp_ports

FAST = Modulation(7, 125_000, 5, 8)  # 50 bytes ≈ 98 ms


def radios(loop, neighbours: dict[int, list[int]], **kwargs) -> list[UdpRadio]:
    ports = free_udp_ports(len(neighbours))
    return [UdpRadio(FAST, ("127.0.0.1", ports[i]), [("127.0.0.1", ports[j]) for j in peers], loop,
                     rng=random.Random(i), **kwargs) for i, peers in neighbours.items()]


async def settle(seconds: float) -> None:
    await asyncio.sleep(seconds)


def test_frames_arrive_after_their_airtime_and_only_in_range():
    async def main():
        loop = asyncio.get_running_loop()
        a, b, c = radios(loop, {0: [1], 1: [0, 2], 2: [1]})
        got = {0: [], 1: [], 2: []}
        for i, r in enumerate((a, b, c)):
            r.open(lambda f, rssi, snr, i=i: got[i].append((loop.time(), f)))
        start = loop.time()
        airtime = a.transmit(b"x" * 50)
        await settle(0.4)
        for r in (a, b, c):
            r.close()
        return start, airtime, got

    start, airtime, got = asyncio.run(main())
    assert [f for _, f in got[1]] == [b"x" * 50]
    assert got[1][0][0] - start >= airtime * 0.95
    assert got[0] == [] and got[2] == []  # c is out of a's range


def test_overlapping_frames_collide():
    async def main():
        loop = asyncio.get_running_loop()
        a, b, c = radios(loop, {0: [1], 1: [0], 2: [1]})
        got = []
        b.open(lambda f, rssi, snr: got.append(f))
        a.open(lambda *x: None)
        c.open(lambda *x: None)
        a.transmit(b"from a" * 5)
        c.transmit(b"from c" * 5)
        await settle(0.3)
        collisions = b.collisions
        for r in (a, b, c):
            r.close()
        return got, collisions

    got, collisions = asyncio.run(main())
    assert got == [] and collisions == 2


def test_loss_partition_and_half_duplex():
    async def main():
        loop = asyncio.get_running_loop()
        a, b = radios(loop, {0: [1], 1: [0]})
        b.loss = 0.5
        got = []
        b.open(lambda f, rssi, snr: got.append(f))
        a.open(lambda *x: None)
        for k in range(20):
            a.transmit(bytes([k]) * 10)
            await settle(0.05)
        await settle(0.1)
        lossy = len(got)
        b.loss = 0.0
        b.block({"127.0.0.1"})  # partition
        a.transmit(b"blocked")
        await settle(0.1)
        b.unblock()
        a.transmit(b"healed")
        await settle(0.1)
        b.transmit(b"b talks")  # b is deaf while it transmits
        a.transmit(b"unheard")
        await settle(0.15)
        a.close()
        b.close()
        return lossy, got

    lossy, got = asyncio.run(main())
    assert 3 <= lossy <= 17
    assert b"blocked" not in got and b"healed" in got and b"unheard" not in got


def test_bad_configuration():
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(RadioError, match="peer"):
            UdpRadio(FAST, ("127.0.0.1", 1), [], loop)
        radio = UdpRadio(FAST, ("203.0.113.1", 9), [("127.0.0.1", 9)], loop)
        with pytest.raises(RadioError, match="cannot bind"):
            radio.open(lambda *a: None)
        with pytest.raises(RadioError, match="not open"):
            radio.transmit(b"x")
    finally:
        loop.close()
    assert parse_address("10.77.0.2:47701") == ("10.77.0.2", 47701)
    assert parse_address("10.77.0.2") == ("10.77.0.2", 47700)
    with pytest.raises(RadioError):
        parse_address("host:port")


def test_three_nodes_relay_and_acknowledge_in_real_time(key):
    async def main():
        loop = asyncio.get_running_loop()
        rs = radios(loop, {0: [1], 1: [0, 2], 2: [1]})
        band = region("EU868").band(869.525)
        inbox, status = [], {}
        nodes = [MeshNode(0xE5000001 + i, key, r, LoopClock(loop), AirtimeLedger(band), rng=random.Random(i),
                          on_message=inbox.append if i == 2 else None,
                          on_status=status.__setitem__ if i == 0 else None)
                 for i, r in enumerate(rs)]
        for n in nodes:
            n.start()
        mid = nodes[0].send(nodes[2].node_id, SmsRelay("+254700000001", "real time relay"))
        for _ in range(100):
            await asyncio.sleep(0.1)
            if mid in status:
                break
        for n in nodes:
            n.stop()
        return mid, inbox, status

    mid, inbox, status = asyncio.run(main())
    assert status == {mid: True}
    assert [m.decoded().text for m in inbox] == ["real time relay"] and inbox[0].hops == 1
