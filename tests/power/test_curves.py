"""Voltage → charge curves: monotonic, clamped to 0–100, and the simulator's inverse agrees."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evy.power.curves import CURVES, Curve, curve

names = st.sampled_from(sorted(CURVES))
volts = st.floats(-5.0, 60.0, allow_nan=False)


@given(names, volts, volts)
def test_percent_rises_with_voltage_and_stays_in_range(name, a, b):
    low, high = sorted((a, b))
    pack = CURVES[name]
    assert 0 <= pack.percent(low) <= pack.percent(high) <= 100


@given(names)
def test_endpoints_clamp(name):
    pack = CURVES[name]
    assert pack.percent(pack.empty_volts) == 0 and pack.percent(pack.empty_volts - 1) == 0
    assert pack.percent(pack.full_volts) == 100 and pack.percent(pack.full_volts + 5) == 100


@given(names, st.integers(0, 100))
def test_volts_is_the_inverse_of_percent(name, pct):
    pack = CURVES[name]
    assert abs(pack.percent(pack.volts(pct)) - pct) <= 1


@pytest.mark.parametrize(("name", "v", "pct"), [
    ("lead-acid-12v", 12.06, 50), ("lead-acid-12v", 11.75, 30), ("lead-acid-12v", 11.58, 20),
    ("lifepo4-4s", 13.2, 70), ("lifepo4-1s", 3.25, 20), ("li-ion-2s", 7.64, 50),
])
def test_known_points(name, v, pct):
    assert CURVES[name].percent(v) == pct


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_not_a_number_is_refused(bad):
    with pytest.raises(ValueError, match="not a number"):
        CURVES["lifepo4-1s"].percent(bad)


def test_malformed_curves_and_unknown_packs_are_refused():
    with pytest.raises(ValueError, match="rise strictly"):
        Curve("x", ((12.0, 0), (11.0, 100)))
    with pytest.raises(ValueError, match="0% to 100%"):
        Curve("x", ((11.0, 5), (12.0, 100)))
    with pytest.raises(ValueError, match="unknown battery pack 'nicd'"):
        curve("nicd")
