"""Build a field node from the agent's configuration: key, state, airtime ledger, radio, clock.

The pipeline uses :func:`open_node` and then ``node.send(dest, SmsRelay(...))``; messages for this kit arrive
at ``on_message`` and the fate of each unicast message at ``on_status``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evy import backends
from evy.mesh.airtime import Modulation, bandwidth_from_khz
from evy.mesh.dutycycle import AirtimeLedger, SubBand, region
from evy.mesh.errors import MeshError
from evy.mesh.frames import MAX_FRAME
from evy.mesh.keys import NetworkKey
from evy.mesh.messages import Beacon
from evy.mesh.node import MeshNode, Message
from evy.mesh.radio.base import Radio
from evy.mesh.routing import RoutingParams
from evy.mesh.state import NodeState


class LoopClock:
    """asyncio timers, wall-clock readings (the airtime ledger and state outlive a reboot)."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop

    def time(self) -> float:
        return time.time()

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> asyncio.TimerHandle:
        return self.loop.call_later(delay, callback, *args)


def modulation_from(config: Any) -> Modulation:
    return Modulation(config["mesh.spreading_factor"], bandwidth_from_khz(float(config["mesh.bandwidth_khz"])),
                      config["mesh.coding_rate"], config["mesh.preamble"])


def state_dir(config: Any) -> Path:
    return config["mesh.state_dir"] or Path(config["data_dir"]) / "mesh"


def check_dwell_time(modulation: Modulation, band: SubBand) -> None:
    """Refuse settings under which a full frame would break the band's dwell-time rule."""
    longest = modulation.time_on_air(MAX_FRAME)
    if band.max_dwell_s is not None and longest > band.max_dwell_s:
        raise MeshError(
            f"a {MAX_FRAME}-byte frame takes {longest * 1000:.0f} ms at SF{modulation.spreading_factor}/"
            f"{modulation.bandwidth_hz / 1000:g} kHz, over the {band.max_dwell_s * 1000:.0f} ms dwell time "
            f"({band.rule}); use a wider bandwidth (mesh.bandwidth_khz = 500) or a lower spreading factor")


def make_radio(config: Any, loop: asyncio.AbstractEventLoop, loss: float = 0.0) -> Radio:
    """The radio ``mesh.radio`` names (see :mod:`evy.backends`), not yet open."""
    return backends.make("radio", config, modulation_from(config), loop, loss=loss)


def open_node(config: Any, loop: asyncio.AbstractEventLoop, *, on_message: Callable[[Message], None] | None = None,
              on_status: Callable[[int, bool], None] | None = None, radio: Radio | None = None,
              battery: Callable[[], int | None] = lambda: None, beacon: Callable[[], Beacon] | None = None,
              udp_loss: float = 0.0) -> MeshNode:
    """A started node for this kit. Refuses (:class:`KeyFileError`) without a configured network key."""
    key = NetworkKey.load(config["mesh.key_file"])
    directory = state_dir(config)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MeshError(f"cannot create mesh state directory {directory}: {exc.strerror}") from exc
    state = NodeState.open(directory / "state.json", wall_clock=time.time())
    node_id = config["mesh.node_id"] or state.node_id
    if node_id is None:
        node_id = random.SystemRandom().randrange(1, 0xFFFFFFFF) | 1
    state.node_id = node_id
    state.save()
    band = region(config["mesh.region"]).band(config["mesh.frequency"])
    check_dwell_time(modulation_from(config), band)
    ledger = AirtimeLedger(band, directory / "airtime.json")
    params = RoutingParams.from_config(config)
    node = MeshNode(node_id, key, radio or make_radio(config, loop, udp_loss), LoopClock(loop), ledger,
                    params=params, state=state, battery=battery, on_message=on_message, on_status=on_status,
                    beacon=beacon, beacon_interval_s=config["mesh.beacon_interval"])
    node.start()
    return node
