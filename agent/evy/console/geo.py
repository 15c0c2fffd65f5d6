"""Distances and bearings from the kit, and a plain SVG plot of cases around it (no tiles, works offline)."""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bearing_deg(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Initial bearing from a to b, degrees clockwise from true north, 0 ≤ x < 360."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    y = math.sin(lon2 - lon1) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    bearing = math.degrees(math.atan2(y, x)) % 360.0
    return 0.0 if bearing >= 360.0 else bearing  # -1e-15 % 360 rounds to 360.0


def compass_point(bearing: float) -> str:
    return COMPASS[int((bearing % 360 + 22.5) // 45) % 8]


def describe(kit: tuple[float, float] | None, place: tuple[float, float] | None) -> str | None:
    """"2.4 km NE (47°)" from the kit, or None when either position is unknown."""
    if kit is None or place is None:
        return None
    metres = distance_m(kit, place)
    if metres < 10:
        return "at the kit"
    bearing = bearing_deg(kit, place)
    return f"{format_distance(metres)} {compass_point(bearing)} ({bearing:.0f}°)"


def format_distance(metres: float) -> str:
    return f"{metres:.0f} m" if metres < 1000 else f"{metres / 1000:.1f} km"


def nice_length(metres: float) -> float:
    """The largest 1, 2 or 5 × 10^n not above ``metres`` (a scale bar's length)."""
    if metres <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(metres))
    if power > metres:  # log10 rounded up just below a power of ten
        power /= 10
    return next(step * power for step in (5, 2, 1) if step * power <= metres)


@dataclass(frozen=True)
class PlotPoint:
    x: float
    y: float
    label: str
    href: str
    priority: int


@dataclass(frozen=True)
class Plot:
    """What the map template draws: points in a square of ``size`` px centred on the kit, and a scale bar."""

    size: int
    points: list[PlotPoint]
    scale_px: float
    scale_label: str
    radius_label: str
    metres_per_px: float = 0.0


def plot(kit: tuple[float, float], places: list[tuple[float, float, str, str, int]], size: int = 600) -> Plot:
    """Places (lat, lon, label, link, priority) around the kit on a local flat projection, scaled so the
    farthest fits; fine for the few kilometres a kit covers."""
    half = size / 2
    offsets = []
    for lat, lon, label, href, priority in places:
        north = distance_m(kit, (lat, kit[1])) * (1 if lat >= kit[0] else -1)
        east = distance_m(kit, (kit[0], lon)) * (1 if (lon - kit[1] + 540) % 360 - 180 >= 0 else -1)
        offsets.append((east, north, label, href, priority))
    reach = max([math.hypot(east, north) for east, north, *_ in offsets] + [500.0]) * 1.1
    per_px = reach / (half - 20)
    points = [PlotPoint(half + east / per_px, half - north / per_px, label, href, priority)
              for east, north, label, href, priority in offsets]
    scale = nice_length(reach / 3)
    return Plot(size, points, scale / per_px, format_distance(scale), format_distance(reach), per_px)
