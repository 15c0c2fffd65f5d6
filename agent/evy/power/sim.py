"""``power.source = "sim"``: a battery in software, the twin the tests and `evy sim` use.

Scriptable: :meth:`SimulatedSource.set` changes the level, charging state or injects a fault for the next
reading. With a :class:`SolarDay` the level instead follows an energy balance — a panel producing a
half-sine between sunrise and sunset against a constant load — on a clock the caller controls, so a test can
live through a night and watch the budget step down and come back.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

from evy.power.curves import curve
from evy.power.errors import PowerReadError
from evy.power.reading import PowerReading, PowerSource

STEP_H = 1 / 60  # integrate the solar balance in steps of one simulated minute


@dataclass
class SolarDay:
    """A solar kit: panel peak watts, constant load watts and battery watt-hours; hours run ``speedup``× faster."""

    capacity_wh: float = 240.0  # a 12 V 20 Ah battery
    panel_w: float = 40.0
    load_w: float = 5.0  # a Pi 4 with a modem, mostly idle
    sunrise_h: float = 6.0
    sunset_h: float = 18.0
    start_hour: float = 0.0  # time of day when the clock starts
    speedup: float = 1.0

    def panel_watts(self, hour: float) -> float:
        hour %= 24
        if not self.sunrise_h < hour < self.sunset_h:
            return 0.0
        return self.panel_w * math.sin(math.pi * (hour - self.sunrise_h) / (self.sunset_h - self.sunrise_h))


class SimulatedSource(PowerSource):
    name = "sim"

    def __init__(self, battery_pct: int | None = 80, charging: bool | None = False, *, solar: SolarDay | None = None,
                 pack: str = "lead-acid-12v", clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.battery_pct, self.charging = battery_pct, charging
        self.solar, self.curve, self.clock = solar, curve(pack), clock
        self._fault: str | None = None
        self._energy_wh = (battery_pct or 0) / 100 * solar.capacity_wh if solar else 0.0
        self._hours = solar.start_hour if solar else 0.0
        self._last: float | None = None
        self._watts = 0.0

    @classmethod
    def from_config(cls, config: Any) -> Self:
        return cls(config["power.sim_battery"], config["power.sim_charging"], pack=config["power.pack"])

    def set(self, battery_pct: int | None = None, charging: bool | None = None, *, fault: str | None = None) -> None:
        """Script the next readings: a new level or charging state, or ``fault`` for the next reading only."""
        if battery_pct is not None:
            self.battery_pct = battery_pct
        if charging is not None:
            self.charging = charging
        self._fault = fault

    @property
    def hour(self) -> float:
        """Simulated time of day (solar mode)."""
        return self._hours % 24

    def _read(self) -> PowerReading:
        if self._fault:
            fault, self._fault = self._fault, None
            raise PowerReadError(fault)
        if self.solar:
            self._advance()
        if self.battery_pct is None:
            return PowerReading(source=self.name, charging=self.charging)
        volts = round(self.curve.volts(self.battery_pct), 3)
        watts = round(self._watts, 3) if self.solar else None
        return PowerReading(source=self.name, battery_pct=self.battery_pct, charging=self.charging,
                            external_power=self.charging, volts=volts,
                            amps=None if watts is None else round(watts / volts, 4), watts=watts)

    def _advance(self) -> None:
        solar = self.solar
        assert solar is not None
        now = self.clock()
        elapsed_h = 0.0 if self._last is None else (now - self._last) * solar.speedup / 3600
        self._last = now
        while elapsed_h > 0:
            step = min(STEP_H, elapsed_h)
            self._watts = solar.panel_watts(self._hours + step / 2) - solar.load_w
            self._energy_wh = min(solar.capacity_wh, max(0.0, self._energy_wh + self._watts * step))
            self._hours += step
            elapsed_h -= step
        self.battery_pct = round(100 * self._energy_wh / solar.capacity_wh)
        self.charging = self._watts > 0 and self._energy_wh < solar.capacity_wh
