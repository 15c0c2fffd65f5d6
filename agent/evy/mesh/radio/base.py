"""The one interface every radio provides: the SX1276 driver, the UDP twin and the simulator's radio.

Backends are registered by name in :mod:`evy.backends` and imported only when chosen (only the SX1276 needs
spidev and gpiod). Transmission is asynchronous: :meth:`Radio.transmit` starts a frame and returns its time
on air; the node does not start another frame before that time has passed. Received frames go to the
callback given to :meth:`Radio.open` with RSSI (dBm) and SNR (dB).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

from evy.mesh.airtime import Modulation

if TYPE_CHECKING:
    import asyncio

Receiver = Callable[[bytes, float, float], None]


class Radio(abc.ABC):
    """Chosen by name (``mesh.radio``, see :mod:`evy.backends`)."""

    modulation: Modulation

    @classmethod
    def from_config(cls, config: Any, modulation: Modulation, loop: asyncio.AbstractEventLoop, *,
                    loss: float = 0.0) -> Self:
        """The radio the ``[mesh]`` settings describe, not yet open; its frames reach the node on ``loop``.
        ``loss`` is the share of frames a twin drops on purpose (hardware loses what the air loses). Every
        registered backend provides it; the simulator's radio is built by the simulator instead."""
        raise NotImplementedError(f"{cls.__name__} is not chosen by configuration")

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
