"""The one interface every radio provides: the SX1276 driver, the UDP twin and the simulator's radio.

Transmission is asynchronous: :meth:`Radio.transmit` starts a frame and returns its time on air; the node
does not start another frame before that time has passed. Received frames go to the callback given to
:meth:`Radio.open` with RSSI (dBm) and SNR (dB).
"""

from __future__ import annotations

import abc
from collections.abc import Callable

from evy.mesh.airtime import Modulation

Receiver = Callable[[bytes, float, float], None]


class Radio(abc.ABC):
    modulation: Modulation

    @abc.abstractmethod
    def open(self, receiver: Receiver) -> None:
        """Start listening; frames go to ``receiver(frame, rssi, snr)``."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop listening and release the hardware; calling it twice is harmless."""

    @abc.abstractmethod
    def transmit(self, frame: bytes) -> float:
        """Start sending ``frame``; return its time on air in seconds."""

    @abc.abstractmethod
    def channel_busy(self) -> bool:
        """Channel activity detection: is a LoRa preamble on the air right now?"""

    def airtime(self, length: int) -> float:
        return self.modulation.time_on_air(length)

    def __enter__(self) -> Radio:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_BACKENDS = {
    "sx1276": "evy.mesh.radio.sx1276:SX1276Radio",
    "udp": "evy.mesh.radio.udp:UdpRadio",
}


def backend(name: str) -> type[Radio]:
    """The radio class registered under ``name``, imported only now (so spidev is optional)."""
    import importlib

    from evy.mesh.errors import MeshError

    try:
        module, _, cls = _BACKENDS[name].partition(":")
    except KeyError:
        raise MeshError(f"unknown radio backend {name!r}; known: {', '.join(_BACKENDS)}") from None
    return getattr(importlib.import_module(module), cls)
