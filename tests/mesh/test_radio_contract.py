"""One contract, every radio backend: the simulator's radio, the UDP twin and the SX1276 driver (on its
register-level fake). A new backend gets these tests by adding a harness."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Callable

import pytest

from evy.backends import UnknownBackend, backend_class
from evy.mesh.airtime import Modulation
from evy.mesh.clock import VirtualClock
from evy.mesh.errors import RadioError
from evy.mesh.radio.base import Radio
from evy.mesh.radio.pinmaps import PIN_MAPS
from evy.mesh.radio.sx1276 import SX1276Radio
from evy.mesh.radio.sx1276_fake import FakeSX1276
from evy.mesh.radio.udp import UdpRadio
from evy.mesh.simulator import Link, SimMedium, SimRadio

MOD = Modulation(7, 125_000, 5, 8)


class Harness:
    """Two radios in range of each other and a way to let time pass."""

    a: Radio
    b: Radio
    settle: Callable[[], None]

    def close(self) -> None:
        self.a.close()
        self.b.close()


class SimHarness(Harness):
    def __init__(self):
        self.clock = VirtualClock()
        links = {(0, 1): Link(5.0, 0.0), (1, 0): Link(5.0, 0.0)}
        medium = SimMedium(self.clock, links, random.Random(1))
        self.a, self.b = SimRadio(medium, 0, MOD), SimRadio(medium, 1, MOD)

    def settle(self) -> None:
        self.clock.run_until(self.clock.time() + 1.0)


class UdpHarness(Harness):
    def __init__(self):
        self.loop = asyncio.new_event_loop()
        ports = []
        for _ in range(2):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind(("127.0.0.1", 0))
                ports.append(s.getsockname()[1])
        self.a = UdpRadio(MOD, ("127.0.0.1", ports[0]), [("127.0.0.1", ports[1])], self.loop)
        self.b = UdpRadio(MOD, ("127.0.0.1", ports[1]), [("127.0.0.1", ports[0])], self.loop)

    def settle(self) -> None:
        self.loop.run_until_complete(asyncio.sleep(0.3))

    def close(self) -> None:
        super().close()
        self.loop.close()


class SX1276Harness(Harness):
    def __init__(self):
        self.fake_a, self.fake_b = FakeSX1276(), FakeSX1276()
        self.fake_a.on_air = lambda frame: self.fake_b.inject(frame)
        self.fake_b.on_air = lambda frame: self.fake_a.inject(frame)
        pins = PIN_MAPS["adafruit-rfm9x"]
        self.a = SX1276Radio(MOD, 869.525, pins, ports=self.fake_a.ports, irq_thread=False)
        self.b = SX1276Radio(MOD, 869.525, pins, ports=self.fake_b.ports, irq_thread=False)

    def settle(self) -> None:
        for radio in (self.a, self.b, self.a, self.b):  # TxDone first, then RxDone
            if radio._chip is not None:
                radio.poll()


@pytest.fixture(params=[SimHarness, UdpHarness, SX1276Harness], ids=["sim", "udp", "sx1276"])
def harness(request):
    h = request.param()
    yield h
    h.close()


def test_frames_arrive_unchanged_with_link_quality(harness):
    got_a, got_b = [], []
    harness.a.open(lambda f, rssi, snr: got_a.append((f, rssi, snr)))
    harness.b.open(lambda f, rssi, snr: got_b.append((f, rssi, snr)))
    frame = bytes(range(60))
    assert harness.a.transmit(frame) == pytest.approx(MOD.time_on_air(60))
    harness.settle()
    assert [f for f, _, _ in got_b] == [frame] and got_a == []
    _, rssi, snr = got_b[0]
    assert -170 < rssi < 0 and -30 < snr < 30
    harness.b.transmit(b"reply")
    harness.settle()
    assert [f for f, _, _ in got_a] == [b"reply"]


def test_channel_activity_detection_answers_a_bool(harness):
    harness.a.open(lambda *a: None)
    harness.b.open(lambda *a: None)
    assert harness.a.channel_busy() is False


def test_lifecycle(harness):
    with pytest.raises(RadioError):
        harness.a.transmit(b"not open yet")
    harness.a.open(lambda *a: None)
    harness.a.close()
    harness.a.close()
    with pytest.raises(RadioError):
        harness.a.transmit(b"closed")


def test_backends_are_registered_by_name():
    assert backend_class("radio", "udp") is UdpRadio and backend_class("radio", "sx1276") is SX1276Radio
    with pytest.raises(UnknownBackend, match=r"mesh\.radio: unknown radio .rfm69.; known: sx1276, udp"):
        backend_class("radio", "rfm69")
