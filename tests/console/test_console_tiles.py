"""Map tiles from a local MBTiles file: the tile math (properties), the file's checks, the /tiles route and the
map page with and without a usable file. The files are real SQLite MBTiles made by tilemaker.py."""

from __future__ import annotations

import logging
import math
import re
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from evy.console import geo, tiles
from evy.console.app import create_app
from evy.console.web import Console
from evy.store import Store, mbtiles

from .conftest import SENDER, add_case, console_config
from .test_console_app import login
from .tilemaker import around, colour, make_mbtiles, png

KIT = (-1.2921, 36.8219)
CASE_AT = (-1.2850, 36.8300)  # 1.2 km NE of the kit: the plot fits it at zoom 15
zooms = st.integers(0, mbtiles.MAX_ZOOM)
latitudes = st.floats(-tiles.MAX_LATITUDE + 1e-6, tiles.MAX_LATITUDE - 1e-6, allow_nan=False)
longitudes = st.floats(-180, 179.999999, allow_nan=False)


# -- the math ------------------------------------------------------------------------------------------------------

@given(zooms, st.data())
def test_the_row_flip_maps_every_row_into_the_grid_and_back(zoom: int, data) -> None:
    row = data.draw(st.integers(0, (1 << zoom) - 1))
    flipped = mbtiles.flip_row(row, zoom)
    assert 0 <= flipped < 1 << zoom and mbtiles.flip_row(flipped, zoom) == row


@given(latitudes, longitudes, st.integers(0, 20))
def test_a_place_lies_inside_the_tile_it_is_given(lat: float, lon: float, zoom: int) -> None:
    column, row = tiles.tile_of(lat, lon, zoom)
    assert 0 <= column < 1 << zoom and 0 <= row < 1 << zoom
    north, west = tiles.tile_corner(column, row, zoom)
    south, east = tiles.tile_corner(column + 1, row + 1, zoom)
    slack = 1e-9
    assert south - slack <= lat <= north + slack and west - slack <= lon <= east + slack
    x, y = tiles.world_pixel(lat, lon, zoom)
    assert (min(int(x // 256), (1 << zoom) - 1), min(int(y // 256), (1 << zoom) - 1)) == (column, row)


@given(latitudes, st.integers(0, 23))
def test_one_zoom_level_halves_a_pixel(lat: float, zoom: int) -> None:
    assert math.isclose(tiles.metres_per_pixel(lat, zoom), 2 * tiles.metres_per_pixel(lat, zoom + 1))


def test_known_tiles() -> None:
    assert tiles.tile_of(0.0, 0.0, 1) == (1, 1)
    assert tiles.tile_of(45.0, -90.0, 1) == (0, 0) and tiles.tile_of(-45.0, 90.0, 2) == (3, 2)
    lat = math.radians(51.5007)  # Westminster, by the textbook form of the same projection
    textbook_row = (1 - math.log(math.tan(lat) + 1 / math.cos(lat)) / math.pi) / 2 * 2**15
    assert tiles.tile_of(51.5007, -0.1246, 15) == (int((-0.1246 + 180) / 360 * 2**15), int(textbook_row))
    assert mbtiles.flip_row(0, 15) == 32767 and mbtiles.flip_row(0, 0) == 0
    # 156,543 m on Web Mercator's equatorial sphere; the console measures on geo's mean-radius sphere, as the plot
    assert abs(tiles.metres_per_pixel(0.0, 0) / 156_543.03 - geo.EARTH_RADIUS_M / 6_378_137) < 1e-6


@given(st.floats(-60, 60), st.floats(-179, 179), st.floats(-0.08, 0.08), st.floats(-0.08, 0.08))
def test_a_case_on_the_plot_sits_where_the_tiles_put_its_place(lat, lon, north, east) -> None:
    """The plot's flat projection and the tiles' Web Mercator agree within a pixel over a kit's reach (≤ 9 km)."""
    kit, place = (lat, lon), (lat + north, lon + east)
    plot = geo.plot(kit, [(*place, "K", "/k", 1)], size=600)
    zoom = 15
    scale = tiles.metres_per_pixel(lat, zoom) / plot.metres_per_px
    kit_x, kit_y = tiles.world_pixel(*kit, zoom)
    place_x, place_y = tiles.world_pixel(*place, zoom)
    point = plot.points[0]
    assert abs(300 + (place_x - kit_x) * scale - point.x) < 1.0
    assert abs(300 + (place_y - kit_y) * scale - point.y) < 1.0


# -- the file ------------------------------------------------------------------------------------------------------

def test_a_tile_is_read_by_its_xyz_address_from_the_tms_row(tmp_path: Path) -> None:
    file = mbtiles.TileFile.open(make_mbtiles(tmp_path / "map.mbtiles", [(3, 5, 1), (3, 5, 6)]))
    assert file.tile(3, 5, 1) == png(colour(3, 5, 1)) and file.tile(3, 5, 6) == png(colour(3, 5, 6))
    assert file.tile(3, 5, 2) is None
    assert (file.extension, file.media_type, file.min_zoom, file.max_zoom) == ("png", "image/png", 3, 3)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        file._db.execute("DELETE FROM tiles")
    file.close()


@pytest.mark.parametrize(("build", "reason"), [
    (lambda path: path.write_bytes(b"not a database at all, just text" * 40), "no MBTiles metadata table"),
    (lambda path: sqlite3.connect(path).execute("CREATE TABLE metadata (name, value)"), "no MBTiles tiles"),
    (lambda path: make_mbtiles(path, []), "holds no tiles"),
    (lambda path: make_mbtiles(path, [(1, 0, 0)], {"format": "pbf"}), "tiles are pbf"),
    (lambda path: make_mbtiles(path, [(1, 0, 0)], {"format": "jpg"}), "says jpg but the tiles are png"),
    (lambda path: make_mbtiles(path, [(1, 0, 0)], {}, {(1, 0, 0): b"\x1f\x8b vector"}), "unknown format"),
])
def test_a_file_that_is_not_raster_mbtiles_is_refused_with_its_reason(tmp_path: Path, build, reason: str) -> None:
    path = tmp_path / "map.mbtiles"
    build(path)
    with pytest.raises(mbtiles.TileFileError, match=reason):
        mbtiles.TileFile.open(path)


# -- the route and the map ---------------------------------------------------------------------------------------

@pytest.fixture()
def client(tmp_path: Path, database: Path, password_hashes):
    store = Store.open(database)
    add_case(store, SENDER, ["fire here"], 1000.0, latitude=CASE_AT[0], longitude=CASE_AT[1], priority=0,
             category="fire")
    store.close()
    console = Console(console_config(password_hashes, data_dir=str(tmp_path)), database)
    with TestClient(create_app(console), base_url="http://127.0.0.1:8080") as client:
        yield client


@pytest.fixture()
def tile_set(tmp_path: Path) -> list[tuple[int, int, int]]:
    made = [tile for zoom in (14, 15, 16) for tile in around(*KIT, zoom, reach=3)]
    make_mbtiles(tmp_path / "map.mbtiles", made)
    return made


def test_a_tile_is_served_with_its_type_and_cache_headers(client: TestClient, tile_set) -> None:
    login(client)
    zoom, column, row = tile_set[0]
    answer = client.get(f"/tiles/{zoom}/{column}/{row}.png")
    assert answer.status_code == 200 and answer.content == png(colour(zoom, column, row))
    assert answer.headers["content-type"] == "image/png"
    assert answer.headers["cache-control"] == "private, max-age=86400"
    assert answer.headers["x-content-type-options"] == "nosniff"
    tms_row = mbtiles.flip_row(row, zoom)  # asked for by its stored (TMS) row, it is another tile or none
    assert client.get(f"/tiles/{zoom}/{column}/{tms_row}.png").status_code == 404


@pytest.mark.parametrize(("address", "status"), [
    ("15/0/0.png", 404),  # a tile the file does not hold
    ("{z}/{x}/{y}.jpg", 404),  # the file's tiles are png
    ("x/1/2.png", 400), ("15/-1/2.png", 400), ("3/8/0.png", 400), ("3/0/8.png", 400), ("25/0/0.png", 400),
    ("15/1/2", 404), ("15/1/2.5.png", 400), ("15/١/2.png", 400),
])
def test_a_missing_tile_or_a_bad_address_is_refused(client: TestClient, tile_set, address: str,
                                                    status: int) -> None:
    login(client)
    zoom, column, row = tile_set[0]
    answer = client.get("/tiles/" + address.format(z=zoom, x=column, y=row))
    assert answer.status_code == status and not answer.content.startswith(b"\x89PNG")


def test_tiles_need_a_login(client: TestClient, tile_set) -> None:
    zoom, column, row = tile_set[0]
    answer = client.get(f"/tiles/{zoom}/{column}/{row}.png", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login" and b"PNG" not in answer.content


def test_the_map_draws_the_tiles_that_cover_it_at_the_zoom_that_fits_the_cases(client: TestClient,
                                                                                tile_set) -> None:
    login(client)
    page = client.get("/map")
    hrefs = re.findall(r'<image href="(/tiles/[^"]+)"', page.text)
    assert hrefs and all(href.startswith("/tiles/15/") and href.endswith(".png") for href in hrefs)
    assert 4 <= len(hrefs) <= 25 and len(page.content) < 100_000
    assert all(client.get(href).status_code == 200 for href in hrefs)
    assert "Tiles: zoom 15, © Test Map contributors." in page.text
    column, row = tiles.tile_of(*KIT, 15)  # the kit's tile is drawn where the kit is, at the centre
    x, y, size = map(float, re.search(rf'href="/tiles/15/{column}/{row}.png" x="([-\d.]+)" y="([-\d.]+)" '
                                      r'width="([\d.]+)"', page.text).groups())
    assert x <= 300 <= x + size and y <= 300 <= y + size


def test_without_a_tile_file_the_map_is_the_plain_plot(client: TestClient) -> None:
    login(client)
    page = client.get("/map")
    assert "<image" not in page.text and "Map tiles" not in page.text and 'class="case p0"' in page.text
    assert client.get("/tiles/15/0/0.png").status_code == 404


def test_an_invalid_file_gives_one_log_line_and_the_plain_map_until_it_is_replaced(
        client: TestClient, tmp_path: Path, caplog) -> None:
    login(client)
    (tmp_path / "map.mbtiles").write_bytes(b"\x89PNG this is a picture, not a tile file" * 100)
    with caplog.at_level(logging.WARNING, logger="evy.console"):
        first, second = client.get("/map"), client.get("/map")
    lines = [record.getMessage() for record in caplog.records if "map tiles" in record.getMessage()]
    assert len(lines) == 1 and "\n" not in lines[0] and "is not a usable MBTiles file" in lines[0]
    for page in (first, second):
        assert page.status_code == 200 and "<image" not in page.text and 'class="case p0"' in page.text
        assert "Map tiles: map.mbtiles is not a usable MBTiles file: no MBTiles metadata table" in page.text
    (tmp_path / "map.mbtiles").unlink()
    make_mbtiles(tmp_path / "map.mbtiles", around(*KIT, 15, reach=3))
    assert '<image href="/tiles/15/' in client.get("/map").text


def test_the_setting_names_another_file_relative_to_the_data_directory(tmp_path: Path, database: Path,
                                                                        password_hashes) -> None:
    (tmp_path / "maps").mkdir()
    make_mbtiles(tmp_path / "maps" / "nairobi.mbtiles", around(*KIT, 15, reach=3))
    console = Console(console_config(password_hashes, data_dir=str(tmp_path), console__mbtiles="maps/nairobi.mbtiles"),
                      database)
    with TestClient(create_app(console), base_url="http://127.0.0.1:8080") as client:
        login(client)
        assert '<image href="/tiles/15/' in client.get("/map").text


def test_cases_spread_beyond_the_lowest_zoom_draw_no_tiles_and_say_why(tmp_path: Path) -> None:
    file = mbtiles.TileFile.open(make_mbtiles(tmp_path / "map.mbtiles", around(*KIT, 15, reach=1)))
    wide = tiles.place(file, KIT, metres_per_px=5000.0, size=600)  # a case ~1,500 km away
    assert wide.images == [] and "lowest zoom (15)" in wide.note
    elsewhere = tiles.place(file, (48.85, 2.35), metres_per_px=4.0, size=600)
    assert elsewhere.images == [] and "no tiles around the kit at zoom 15" in elsewhere.note
