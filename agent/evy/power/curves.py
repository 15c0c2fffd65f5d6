"""Battery packs' resting voltage → state of charge, for monitors that only see volts (the INA219).

The points are typical open-circuit figures at about 25 °C from battery makers' public charts. A voltage read
under load reads low and one read while charging reads high (a charging pack clamps to 100%), and LiFePO4 is
so flat between 20% and 90% that its estimate there is coarse: good enough to decide "below 30%", not more.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Curve:
    """Pack voltage → percent by linear interpolation between points; clamped to 0–100 outside them."""

    name: str
    points: tuple[tuple[float, int], ...]  # (pack volts, percent), both strictly increasing

    def __post_init__(self) -> None:
        volts = [v for v, _ in self.points]
        pct = [p for _, p in self.points]
        if len(self.points) < 2 or volts != sorted(set(volts)) or pct != sorted(set(pct)):
            raise ValueError(f"curve {self.name}: points must rise strictly in both volts and percent")
        if pct[0] != 0 or pct[-1] != 100:
            raise ValueError(f"curve {self.name}: points must run from 0% to 100%")

    @property
    def empty_volts(self) -> float:
        return self.points[0][0]

    @property
    def full_volts(self) -> float:
        return self.points[-1][0]

    def percent(self, volts: float) -> int:
        if not math.isfinite(volts):
            raise ValueError(f"curve {self.name}: voltage {volts!r} is not a number")
        if volts <= self.empty_volts:
            return 0
        if volts >= self.full_volts:
            return 100
        i = bisect.bisect_right([v for v, _ in self.points], volts)
        (v0, p0), (v1, p1) = self.points[i - 1], self.points[i]
        return round(p0 + (p1 - p0) * (volts - v0) / (v1 - v0))

    def volts(self, percent: float) -> float:
        """The inverse: resting pack voltage at ``percent`` (used by the simulator)."""
        percent = min(100.0, max(0.0, percent))
        i = max(1, bisect.bisect_left([p for _, p in self.points], percent))
        (v0, p0), (v1, p1) = self.points[i - 1], self.points[i]
        return v0 + (v1 - v0) * (percent - p0) / (p1 - p0)


def _scaled(name: str, cells: int, per_cell: tuple[tuple[float, int], ...]) -> Curve:
    return Curve(name, tuple((round(v * cells, 3), p) for v, p in per_cell))


_LEAD_ACID_12V = ((10.50, 0), (11.31, 10), (11.58, 20), (11.75, 30), (11.90, 40), (12.06, 50), (12.20, 60),
                  (12.32, 70), (12.42, 80), (12.50, 90), (12.70, 100))
_LIFEPO4_CELL = ((2.50, 0), (3.00, 9), (3.20, 14), (3.22, 17), (3.25, 20), (3.26, 30), (3.27, 40), (3.30, 70),
                 (3.32, 90), (3.35, 99), (3.40, 100))
_LI_ION_CELL = ((3.00, 0), (3.45, 5), (3.68, 10), (3.74, 20), (3.77, 30), (3.79, 40), (3.82, 50), (3.87, 60),
                (3.92, 70), (3.98, 80), (4.06, 90), (4.20, 100))

CURVES: dict[str, Curve] = {
    curve.name: curve for curve in (
        Curve("lead-acid-12v", _LEAD_ACID_12V),
        _scaled("lifepo4-1s", 1, _LIFEPO4_CELL),
        _scaled("lifepo4-4s", 4, _LIFEPO4_CELL),
        _scaled("li-ion-1s", 1, _LI_ION_CELL),
        _scaled("li-ion-2s", 2, _LI_ION_CELL),
        _scaled("li-ion-3s", 3, _LI_ION_CELL),
    )
}


def curve(name: str) -> Curve:
    try:
        return CURVES[name]
    except KeyError:
        raise ValueError(f"unknown battery pack {name!r}; one of {', '.join(CURVES)}") from None
