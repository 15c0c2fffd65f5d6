"""Every backend the config chooses by name: modems, radios, power sources and responders, in one table.

A backend is imported only when it is chosen, so a kit runs without the optional libraries of the backends
it does not use (python-gammu, spidev and gpiod, smbus2, llama_cpp). This module names the drivers and
imports none of them; the interfaces (``sms/modem.py``, ``mesh/radio/base.py``, ``power/reading.py``,
``responder/base.py``) never name their drivers, and each driver imports only its interface.

Every backend class has a ``from_config`` constructor that does no I/O::

    backends.make("modem", config).open()
    backends.backend_class("power source", "sim")
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evy.errors import ConfigError


@dataclass(frozen=True)
class Kind:
    setting: str  # the config key whose value names the backend
    backends: Mapping[str, str]  # name -> "module:Class"


BACKENDS: dict[str, Kind] = {
    "modem": Kind("modem.backend", {
        "at": "evy.sms.at_modem:AtModem",
        "gammu": "evy.sms.gammu_modem:GammuModem",
    }),
    "radio": Kind("mesh.radio", {
        "sx1276": "evy.mesh.radio.sx1276:SX1276Radio",
        "udp": "evy.mesh.radio.udp:UdpRadio",
    }),
    "power source": Kind("power.source", {
        "none": "evy.power.none:NoSource",
        "sysfs": "evy.power.sysfs:SysfsSource",
        "ina219": "evy.power.ina219:Ina219Source",
        "sim": "evy.power.sim:SimulatedSource",
    }),
    "responder": Kind("responder", {
        "brain": "evy.responder.brain:BrainResponder",
        "basic": "evy.responder.basic:BasicResponder",
    }),
}


class UnknownBackend(ConfigError, LookupError):
    """A name no backend of its kind is registered under."""


def names(kind: str) -> tuple[str, ...]:
    """The names ``kind`` can be chosen by, in the table's order (the settings table offers these)."""
    return tuple(BACKENDS[kind].backends)


def backend_class(kind: str, name: str) -> type:
    """The class registered as ``name`` for ``kind``, imported now (a missing library fails here, not at
    start-up of a kit that never chose it)."""
    entry = BACKENDS[kind]
    try:
        module, _, attribute = entry.backends[name].partition(":")
    except (KeyError, TypeError):
        raise UnknownBackend(f"{entry.setting}: unknown {kind} {name!r}; known: "
                             f"{', '.join(entry.backends)}") from None
    return getattr(importlib.import_module(module), attribute)


def make(kind: str, config: Any, /, *args: Any, **kwargs: Any) -> Any:
    """The backend ``config`` chooses for ``kind``, constructed with ``from_config`` (not opened)."""
    return backend_class(kind, config[BACKENDS[kind].setting]).from_config(config, *args, **kwargs)
