"""The location parser on the forms people send, and properties over generated coordinates."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openlocationcode import openlocationcode as olc

from evy.cases.location import compass_point, decode_plus_code, distance_bearing, find_location, recover_short_code

NAIROBI = (-1.286389, 36.817223)


@pytest.mark.parametrize(("text", "kind", "lat", "lon"), [
    ("we are at -1.2921, 36.8219 pls come", "decimal", -1.2921, 36.8219),
    ("1.2921 S 36.8219 E", "decimal", -1.2921, 36.8219),
    ("lat -33.4489 lon -70.6693", "decimal", -33.4489, -70.6693),
    ("geo:18.5392,-72.3364;u=20", "geo_uri", 18.5392, -72.3364),
    ("geo:-6.2,106.816666 help", "geo_uri", -6.2, 106.816666),
    ("https://maps.google.com/?q=-1.29207,36.82195", "map_link", -1.29207, 36.82195),
    ("https://www.google.com/maps/@-1.2921,36.8219,15z", "map_link", -1.2921, 36.8219),
    ("https://www.google.com/maps/search/-1.2921,+36.8219", "map_link", -1.2921, 36.8219),
    ("https://www.openstreetmap.org/#map=17/18.53920/-72.33640", "map_link", 18.5392, -72.3364),
    ("http://osm.org/?mlat=18.5392&mlon=-72.3364#map=17", "map_link", 18.5392, -72.3364),
    ("https://maps.apple.com/?ll=38.7223,-9.1393&q=Pin", "map_link", 38.7223, -9.1393),
    ("1°17'31.6\"S 36°49'18.8\"E", "dms", -1.292111, 36.821889),
    ("S 1 17.527 E 36 49.313", "dms", -1.292117, 36.821883),
    ("18 32.35N 72 20.18W", "dms", 18.539167, -72.336333),
    ("40 25 N 3 42 O", "dms", 40.416667, -3.7),
])
def test_forms_people_send(text: str, kind: str, lat: float, lon: float) -> None:
    found = find_location(text)
    assert found is not None and found.kind == kind
    assert found.latitude == pytest.approx(lat, abs=1e-4)
    assert found.longitude == pytest.approx(lon, abs=1e-4)
    assert found.text in text


def test_full_plus_code_decodes_to_its_cell_centre() -> None:
    found = find_location("im at 6GCRPR6C+24 near the bridge")
    area = olc.decode("6GCRPR6C+24")
    assert found is not None and found.kind == "plus_code"
    assert (found.latitude, found.longitude) == pytest.approx((area.latitudeCenter, area.longitudeCenter))
    assert found.accuracy_m is not None and found.accuracy_m < 15


def test_short_plus_code_needs_a_reference() -> None:
    assert find_location("PR6C+24 Nairobi") is None or find_location("PR6C+24 Nairobi").kind != "plus_code"
    found = find_location("PR6C+24", reference=NAIROBI)
    assert found is not None and found.kind == "plus_code"
    assert distance_bearing(NAIROBI, (found.latitude, found.longitude))[0] < 50_000


@pytest.mark.parametrize("text", [
    "2 people hurt, 3 kids", "it costs 1.500 shillings", "call 0712 345 678", "version 2.1.3",
    "the water is 1.5 m deep and rising 0.25 m each hour", "flight 12:30", "I have 100% battery",
    "near death, please hurry", "at the moment he is sleeping",
])
def test_numbers_and_phrases_that_are_not_places(text: str) -> None:
    assert find_location(text) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("we are near the mosque on Market Road", "near the mosque on Market Road"),
    ("estamos cerca de la iglesia San Pedro", "cerca de la iglesia San Pedro"),
    ("nous sommes a cote de l'ecole primaire", "a cote de l'ecole primaire"),
    ("tuko karibu na soko la Gikomba", "tuko karibu na soko la Gikomba"),
])
def test_landmarks_are_kept_verbatim(text: str, expected: str) -> None:
    found = find_location(text)
    assert found is not None and found.kind == "landmark" and expected in found.text
    assert not found.has_coordinates


def test_an_answer_to_where_are_you_is_the_landmark() -> None:
    assert find_location("kibera olympic estate") is None
    found = find_location("kibera olympic estate", expecting=True)
    assert found is not None and found.text == "kibera olympic estate"


def test_short_links_are_kept_for_a_rescuer_to_open() -> None:
    found = find_location("here https://maps.app.goo.gl/AbCd123xyz")
    assert found is not None and found.kind == "link" and "goo.gl/AbCd123xyz" in found.text


latitudes = st.floats(min_value=-89.9, max_value=89.9, allow_nan=False).filter(lambda v: abs(v) > 1e-3)
longitudes = st.floats(min_value=-179.9, max_value=179.9, allow_nan=False).filter(lambda v: abs(v) > 1e-3)


@given(latitudes, longitudes, st.sampled_from(["{a:.5f}, {o:.5f}", "geo:{a:.6f},{o:.6f}",
                                               "https://maps.google.com/?q={a:.5f},{o:.5f}",
                                               "https://www.openstreetmap.org/#map=16/{a:.5f}/{o:.5f}"]))
def test_decimal_forms_round_trip(lat: float, lon: float, form: str) -> None:
    found = find_location("help us " + form.format(a=lat, o=lon) + " quickly")
    assert found is not None
    assert found.latitude == pytest.approx(lat, abs=1e-5) and found.longitude == pytest.approx(lon, abs=1e-5)


@given(latitudes, longitudes)
def test_degree_minute_round_trip(lat: float, lon: float) -> None:
    def dm(value: float, pos: str, neg: str) -> str:
        degrees, minutes = divmod(abs(value) * 60, 60)
        return f"{int(degrees)} {minutes:.4f}{pos if value >= 0 else neg}"

    minutes_lat = abs(lat) * 60 % 60
    minutes_lon = abs(lon) * 60 % 60
    if f"{minutes_lat:.4f}".startswith("60") or f"{minutes_lon:.4f}".startswith("60"):
        return  # rounding made 60 minutes: not a valid degree-minute form
    found = find_location(f"{dm(lat, 'N', 'S')} {dm(lon, 'E', 'W')}")
    assert found is not None and found.kind == "dms"
    assert found.latitude == pytest.approx(lat, abs=1e-4) and found.longitude == pytest.approx(lon, abs=1e-4)


@given(latitudes, longitudes)
def test_plus_codes_round_trip(lat: float, lon: float) -> None:
    code = olc.encode(lat, lon)
    found = find_location(f"at {code}")
    assert found is not None and found.kind == "plus_code"
    assert distance_bearing((lat, lon), (found.latitude, found.longitude))[0] <= found.accuracy_m + 1


@given(st.text(max_size=300))
def test_any_text_gives_a_location_or_none(text: str) -> None:
    found = find_location(text)
    if found is not None:
        assert found.text
        if found.has_coordinates:
            assert -90 <= found.latitude <= 90 and -180 <= found.longitude <= 180


def test_distance_and_bearing() -> None:
    distance, bearing = distance_bearing((0.0, 0.0), (1.0, 0.0))
    assert distance == pytest.approx(111_195, rel=1e-3) and bearing == pytest.approx(0.0)
    distance, bearing = distance_bearing((0.0, 0.0), (0.0, -1.0))
    assert bearing == pytest.approx(270.0) and compass_point(bearing) == "W"
    assert compass_point(44.0) == "NE" and compass_point(359.0) == "N"
    assert math.isclose(distance_bearing(NAIROBI, NAIROBI)[0], 0.0, abs_tol=1e-6)


@given(latitudes, longitudes, st.sampled_from([10, 11, 12, 13]))
def test_plus_code_decoding_agrees_with_the_reference_implementation(lat: float, lon: float, length: int) -> None:
    code = olc.encode(lat, lon, length)
    area = olc.decode(code)
    latitude, longitude, _ = decode_plus_code(code)
    assert (latitude, longitude) == pytest.approx((area.latitudeCenter, area.longitudeCenter), abs=1e-9)


@given(st.floats(min_value=-80, max_value=80), st.floats(min_value=-179, max_value=179),
       st.floats(min_value=-0.4, max_value=0.4), st.floats(min_value=-0.4, max_value=0.4), st.sampled_from([2, 4]))
def test_short_code_recovery_agrees_with_the_reference_implementation(lat: float, lon: float, d_lat: float,
                                                                      d_lon: float, removed: int) -> None:
    full = olc.encode(lat, lon)
    short = full[removed:]
    reference = (lat + d_lat, lon + d_lon)
    assert recover_short_code(short, reference) == olc.recoverNearest(short, *reference)
