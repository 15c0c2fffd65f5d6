"""The kit's health as the console shows it: the agent's latest snapshot (modem, SIM, mesh, airtime, model,
battery) read from the store, with what any process can read itself (memory, disk, uptime, clock, queues).

``collect(store, config)`` builds it; ``KitHealth.as_json()`` is what the console's JSON API returns.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evy.health import system
from evy.health.recorder import SOURCE
from evy.store import Store, report
from evy.store import health as store_health

if TYPE_CHECKING:
    from evy.config import Config

STALE_AFTER = 3  # snapshots missed before the agent counts as not running


@dataclass(frozen=True)
class ModemHealth:
    state: str  # ready | not-registered | sim-locked | resetting | down | unknown
    signal: int | None  # CSQ 0-31
    registered: bool | None
    operator: str | None
    last_error: str | None
    sim_used: int | None
    sim_total: int | None
    unregistered_since: float | None

    @property
    def signal_dbm(self) -> int | None:
        """CSQ to dBm (27.007: 0 is -113 dBm or less, 31 is -51 dBm or more; 99 unknown)."""
        return None if self.signal is None or not 0 <= self.signal <= 31 else -113 + 2 * self.signal

    @property
    def sim_used_pct(self) -> float | None:
        return None if not self.sim_total or self.sim_used is None else round(100.0 * self.sim_used / self.sim_total, 1)


@dataclass(frozen=True)
class Neighbour:
    node: str
    heard_at: float  # when its last beacon was heard
    hops: int
    battery_pct: int | None
    charging: bool
    cellular: bool
    queue_depth: int
    big_model: bool = False  # a big node: answers other kits' routine questions (bigEVY)


@dataclass(frozen=True)
class MeshHealth:
    node: str
    neighbours: tuple[Neighbour, ...]
    airtime_used_s: float  # in the last hour
    airtime_allowed_s: float  # the band's legal limit per hour
    delivered: int
    gave_up: int
    relayed: int
    offload: dict[str, Any] = field(default_factory=dict)  # bigEVY: {"asking": {...}, "serving": {...} | None}


@dataclass(frozen=True)
class Limits:
    battery_low_pct: int
    disk_high_pct: int
    sim_full_pct: int
    no_network_after: float
    snapshot_interval: float


@dataclass(frozen=True)
class KitHealth:
    at: float
    snapshot_at: float | None  # the agent's latest snapshot
    agent_started_at: float | None
    system_uptime_s: float | None
    clock_synchronised: bool | None
    modem: ModemHealth
    power: dict[str, Any] | None  # the last PowerReading (battery_pct, charging, volts, amps, watts, ...)
    power_history: tuple[store_health.PowerPoint, ...]
    memory: system.Memory
    disk: system.Disk | None
    store: dict[str, Any]  # on disk or in memory, free bytes, incidents
    queues: dict[str, Any]  # inbox and outbox depths (evy status)
    mesh: MeshHealth | None
    model: dict[str, Any] | None
    limits: Limits = field(repr=False)

    @property
    def agent_running(self) -> bool:
        """The agent recorded its health lately (it does every ``health.snapshot_interval`` seconds)."""
        stale_after = STALE_AFTER * self.limits.snapshot_interval
        return self.snapshot_at is not None and self.at - self.snapshot_at <= stale_after

    @property
    def agent_uptime_s(self) -> float | None:
        return None if self.agent_started_at is None or not self.agent_running else self.at - self.agent_started_at

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(agent_running=self.agent_running, agent_uptime_s=self.agent_uptime_s)
        data["modem"].update(signal_dbm=self.modem.signal_dbm, sim_used_pct=self.modem.sim_used_pct)
        if self.disk is not None:
            data["disk"]["used_pct"] = self.disk.used_pct
        return data


def limits(config: Config) -> Limits:
    return Limits(config["health.battery_low_pct"], config["health.disk_high_pct"], config["health.sim_full_pct"],
                  config["health.no_network_after"], config["health.snapshot_interval"])


def collect(store: Store, config: Config, *, now: float | None = None, history_hours: float = 24.0) -> KitHealth:
    """The kit's health now; ``history_hours`` of battery and solar readings."""
    now = time.time() if now is None else now
    latest = store_health.latest(store, SOURCE)
    snapshot_at, data = latest if latest is not None else (None, {})
    status = report.status(store)
    return KitHealth(
        at=now, snapshot_at=snapshot_at, agent_started_at=data.get("started_at"),
        system_uptime_s=system.uptime_s(), clock_synchronised=system.clock_synchronised(),
        modem=_modem(data.get("modem"), status["modem"]), power=data.get("power"),
        power_history=tuple(store_health.power_history(store, now - history_hours * 3600)),
        memory=system.memory(), disk=system.disk(Path(config["data_dir"])), store=status["store"],
        queues={"inbox": status["inbox"], "outbox": status["outbox"], "opted_out": status["opted_out"]},
        mesh=_mesh(data.get("mesh")), model=data.get("model"), limits=limits(config))


def _modem(snapshot: dict[str, Any] | None, recorded: dict[str, Any]) -> ModemHealth:
    if snapshot is None:  # no snapshot yet: what the agent noted in modem_state (evy status)
        return ModemHealth(recorded["state"], recorded["signal"], None, recorded["operator"], recorded["last_error"],
                           None, None, None)
    return ModemHealth(**snapshot)


def _mesh(snapshot: dict[str, Any] | None) -> MeshHealth | None:
    if snapshot is None:
        return None
    neighbours = tuple(Neighbour(**n) for n in snapshot.get("neighbours", ()))
    return MeshHealth(snapshot["node"], neighbours, snapshot["airtime_used_s"], snapshot["airtime_allowed_s"],
                      snapshot.get("delivered", 0), snapshot.get("gave_up", 0), snapshot.get("relayed", 0),
                      snapshot.get("offload") or {})
