"""Distances, bearings and the map's plot around the kit."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from evy.console import geo

NAIROBI = (-1.2921, 36.8219)
latitudes = st.floats(-80, 80, allow_nan=False)
longitudes = st.floats(-179.9, 179.9, allow_nan=False)


def test_known_distances_and_bearings() -> None:
    assert abs(geo.distance_m(NAIROBI, (-1.2831, 36.8219)) - 1000.8) < 1.0  # 0.009° of latitude
    assert round(geo.bearing_deg(NAIROBI, (-1.2831, 36.8219))) == 0
    assert round(geo.bearing_deg(NAIROBI, (-1.2921, 36.8319))) == 90
    assert geo.describe(NAIROBI, (-1.3021, 36.8119)).endswith("SW (225°)")
    assert geo.describe(NAIROBI, None) is None and geo.describe(NAIROBI, NAIROBI) == "at the kit"


@given(latitudes, longitudes, latitudes, longitudes)
def test_distance_is_symmetric_and_bearing_a_compass_angle(lat1, lon1, lat2, lon2) -> None:
    a, b = (lat1, lon1), (lat2, lon2)
    assert math.isclose(geo.distance_m(a, b), geo.distance_m(b, a), rel_tol=1e-9, abs_tol=1e-6)
    assert 0 <= geo.distance_m(a, b) <= math.pi * geo.EARTH_RADIUS_M + 1
    assert 0 <= geo.bearing_deg(a, b) < 360
    assert geo.compass_point(geo.bearing_deg(a, b)) in geo.COMPASS


@given(st.floats(0.001, 1e7))
def test_a_scale_bar_is_a_round_length_no_longer_than_asked(metres: float) -> None:
    length = geo.nice_length(metres)
    assert length <= metres < length * 2.5 + 1e-9
    assert f"{length:.0e}"[0] in "125"


def test_the_plot_puts_north_up_east_right_and_fits_the_farthest_case() -> None:
    plot = geo.plot(NAIROBI, [(-1.2831, 36.8219, "N", "/n", 0), (-1.2921, 36.8419, "E", "/e", 3)], size=600)
    north, east = plot.points
    assert north.y < 300 and abs(north.x - 300) < 1 and east.x > 300 and abs(east.y - 300) < 1
    assert all(20 <= point.x <= 580 and 20 <= point.y <= 580 for point in plot.points)
    assert plot.scale_label in ("500 m", "1.0 km")
