"""Routing decisions kept apart from I/O: the next-hop table, the SNR-weighted contention window and the
relay policy for low batteries.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from evy.config.schema import defaults_from
from evy.mesh import settings as mesh_settings
from evy.mesh.airtime import Modulation
from evy.messages import Priority

SNR_MIN_DB, SNR_MAX_DB = -20.0, 10.0
CW_MIN, CW_MAX = 3, 8  # contention window exponents: 8 … 256 slots
TURNAROUND_S = 0.0076  # RX→TX switch and CAD processing of a typical SX127x setup


@dataclass(frozen=True)
@defaults_from(mesh_settings.SETTINGS, "mesh", origin_retries="retries", route_ttl_s="route_ttl")
class RoutingParams:
    """Routing's tunables: the first three are settings (their defaults are the table's), the rest fixed."""

    hop_limit: int
    origin_retries: int
    route_ttl_s: float
    relay_retries: int = 1
    route_max_failures: int = 2
    low_battery_pct: int = 30
    critical_battery_pct: int = 15
    ack_margin_s: float = 2.0

    @classmethod
    def from_config(cls, config: Any) -> RoutingParams:
        return cls(hop_limit=config["mesh.hop_limit"], origin_retries=config["mesh.retries"],
                   route_ttl_s=config["mesh.route_ttl"])


@dataclass
class Route:
    next_hop: int  # last byte of the neighbour that relays towards the destination
    hops: int
    expires: float
    failures: int = 0


class RouteTable:
    """Next hops learned from the relay field of frames heard from each source (reverse-path learning)."""

    def __init__(self, ttl_s: float, max_failures: int):
        self.ttl_s, self.max_failures = ttl_s, max_failures
        self._routes: dict[int, Route] = {}

    def learn(self, destination: int, next_hop: int, hops: int, now: float) -> None:
        route = self._routes.get(destination)
        if route is None or route.expires <= now or hops <= route.hops or route.next_hop == next_hop:
            self._routes[destination] = Route(next_hop, hops, now + self.ttl_s)

    def lookup(self, destination: int, now: float) -> Route | None:
        route = self._routes.get(destination)
        if route is not None and route.expires <= now:
            del self._routes[destination]
            return None
        return route

    def failed(self, destination: int) -> None:
        route = self._routes.get(destination)
        if route is not None:
            route.failures += 1
            if route.failures >= self.max_failures:
                del self._routes[destination]

    def confirmed(self, destination: int, now: float) -> None:
        route = self._routes.get(destination)
        if route is not None:
            route.failures, route.expires = 0, now + self.ttl_s

    def known(self, now: float) -> dict[int, Route]:
        return {d: r for d, r in self._routes.items() if r.expires > now}


def slot_s(modulation: Modulation) -> float:
    """One contention slot: long enough for a CAD (about 2.5 symbols) and the radio turnaround."""
    return 2.5 * modulation.symbol_s + TURNAROUND_S


def contention_window(snr_db: float, priority: Priority, battery_pct: int | None, params: RoutingParams) -> int:
    """Exponent of the flood-relay window. Weak links (far nodes) wait less, so the flood spreads in long
    strides; emergency traffic waits less; nodes short of power wait more, so others relay instead."""
    fraction = (min(max(snr_db, SNR_MIN_DB), SNR_MAX_DB) - SNR_MIN_DB) / (SNR_MAX_DB - SNR_MIN_DB)
    exponent = CW_MIN + round(fraction * (CW_MAX - CW_MIN))
    if priority.emergency:
        exponent -= 2
    if battery_pct is not None and battery_pct < params.low_battery_pct:
        exponent += 2
    return max(1, min(exponent, CW_MAX + 2))


def relay_delay(snr_db: float, priority: Priority, battery_pct: int | None, params: RoutingParams,
                modulation: Modulation, rng: random.Random) -> float:
    exponent = contention_window(snr_db, priority, battery_pct, params)
    return rng.randrange(1 << exponent) * slot_s(modulation)


def should_flood_relay(priority: Priority, battery_pct: int | None, params: RoutingParams) -> bool:
    """A node on its last reserves still relays emergencies, but no routine floods or beacons."""
    if battery_pct is None or battery_pct >= params.critical_battery_pct:
        return True
    return priority.emergency


def max_relay_delay(modulation: Modulation) -> float:
    return (1 << (CW_MAX + 2)) * slot_s(modulation)
