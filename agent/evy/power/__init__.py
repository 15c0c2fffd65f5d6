"""Battery and resource awareness: power sources (one file per driver), free memory, and the budget policy.

Drivers are registered by name in :mod:`evy.backends` ("power source") and imported only when chosen, so a
kit without smbus2 runs as long as it does not ask for the INA219::

    with open_source(config) as source:     # power.source = "sysfs" | "ina219" | "sim" | "none"
        source.read().battery_pct           # None when unknown, never a made-up 0 or 100
    monitor = open_monitor(config)          # what the responder uses: cached snapshots and the budget
    monitor.budget().allow_llm
"""

from __future__ import annotations

import logging
from typing import Any

from evy import backends
from evy.power.errors import PowerError, PowerReadError, PowerUnavailable
from evy.power.policy import UNLIMITED, Budget, decide
from evy.power.reading import PowerReading, PowerSource
from evy.power.resources import ResourceMonitor, Resources

__all__ = ["UNLIMITED", "Budget", "PowerError", "PowerReadError", "PowerReading", "PowerSource",
           "PowerUnavailable", "ResourceMonitor", "Resources", "decide", "open_monitor", "open_source",
           "source_class"]

log = logging.getLogger("evy.power")


def source_class(name: str) -> type[PowerSource]:
    """The power source registered as ``name``, imported now."""
    return backends.backend_class("power source", name)


def open_source(config: Any, name: str | None = None) -> PowerSource:
    """The configured source (or ``name``), opened; raises :class:`PowerError` saying what to fix."""
    source = source_class(name or config["power.source"]).from_config(config)
    source.open()
    return source


def open_monitor(config: Any) -> ResourceMonitor:
    """A monitor for the responder. A source that cannot be opened is one warning, and the battery unknown:
    a missing gauge must never stop the kit answering."""
    try:
        source = open_source(config)
    except PowerError as exc:
        log.warning("power: %s; battery unknown", exc)
        from evy.power.none import NoSource

        source = NoSource(why=str(exc))
        source.open()
    return ResourceMonitor(source, config)
