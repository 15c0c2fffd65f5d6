"""Map tiles from a local MBTiles file, drawn under the map's plot only when the operator put one on the data
partition (``console.mbtiles``, default ``<data_dir>/map.mbtiles``); without one the map stays plain SVG.

The file itself (SQLite, TMS rows, read-only) is :mod:`evy.store.mbtiles`; here are the tile math, the
choice of tiles under the plot and the route. The file is checked once per version (path, inode, size,
mtime), and a file that is not a usable raster MBTiles gets one log line and the plain map with the reason
under it.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from evy.console.geo import EARTH_RADIUS_M
from evy.console.web import Console, Refused, secure
from evy.store.mbtiles import MAX_ZOOM, TileFile, TileFileError

log = logging.getLogger("evy.console")

DEFAULT_NAME = "map.mbtiles"
TILE_PX = 256
MAX_LATITUDE = 85.0511287798066  # Web Mercator's square world
MAX_TILES_DRAWN = 64  # a page never asks for more (each tile is one request to the kit)
CACHE_CONTROL = "private, max-age=86400"  # behind the login; a tile at an address changes only with the file


# -- tile math (Web Mercator, 256 px tiles) -------------------------------------------------------------------

def world_pixel(lat: float, lon: float, zoom: int) -> tuple[float, float]:
    """Where a place lies on the whole world's map at ``zoom``, in pixels from its top-left corner."""
    lat = max(-MAX_LATITUDE, min(MAX_LATITUDE, lat))
    side = TILE_PX * (1 << zoom)
    x = (lon + 180.0) / 360.0 * side
    y = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * side
    return x, y


def tile_of(lat: float, lon: float, zoom: int) -> tuple[int, int]:
    """The XYZ column and row of the tile holding a place."""
    last = (1 << zoom) - 1
    x, y = world_pixel(lat, lon, zoom)
    return min(last, max(0, int(x // TILE_PX))), min(last, max(0, int(y // TILE_PX)))


def tile_corner(column: int, row: int, zoom: int) -> tuple[float, float]:
    """Latitude and longitude of an XYZ tile's top-left corner."""
    n = 1 << zoom
    lon = column / n * 360.0 - 180.0
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))
    return lat, lon


def metres_per_pixel(lat: float, zoom: int) -> float:
    """Ground length of one tile pixel at a latitude, on the sphere geo measures the plot on (so the two agree)."""
    return 2 * math.pi * EARTH_RADIUS_M * math.cos(math.radians(lat)) / (TILE_PX * (1 << zoom))


@dataclass
class _Seen:
    stamp: tuple[int, int, int] | None
    file: TileFile | None
    problem: str | None


_seen: dict[Path, _Seen] = {}


def tile_path(console: Console) -> Path:
    chosen = console.config["console.mbtiles"]
    return Path(console.config["data_dir"]) / (chosen or DEFAULT_NAME)


def current(console: Console) -> tuple[TileFile | None, str | None]:
    """The console's tile file (None without one) and, for a file that is there but unusable, why."""
    path = tile_path(console)
    try:
        status = os.stat(path)
        stamp = (status.st_ino, status.st_size, status.st_mtime_ns)
    except OSError:
        stamp = None
    seen = _seen.get(path)
    if seen is not None and seen.stamp == stamp:
        return seen.file, seen.problem
    if seen is not None and seen.file is not None:
        seen.file.close()
    file, problem = None, None
    if stamp is not None:
        try:
            file = TileFile.open(path)
        except TileFileError as exc:
            problem = f"{path.name} is not a usable MBTiles file: {exc}"
            log.warning("map tiles: %s is not a usable MBTiles file: %s; the map is drawn without tiles", path, exc)
    _seen[path] = _Seen(stamp, file, problem)
    return file, problem


# -- under the map's plot ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TileImage:
    href: str
    x: float
    y: float
    size: float


@dataclass(frozen=True)
class Backdrop:
    """Tiles placed in the plot's coordinates (the kit at the centre), their zoom and attribution, or a note
    saying why there are none."""

    images: list[TileImage]
    zoom: int | None
    attribution: str
    note: str | None


def best_zoom(lat: float, metres_per_px: float, lowest: int, highest: int) -> int:
    """The file's zoom whose pixels come nearest the plot's own (never beyond the zooms it holds)."""
    ideal = math.log2(max(1e-9, metres_per_pixel(lat, 0)) / max(1e-9, metres_per_px))
    return max(lowest, min(highest, round(ideal)))


def place(file: TileFile, kit: tuple[float, float], metres_per_px: float, size: int) -> Backdrop:
    """The file's tiles that cover a ``size`` px square centred on the kit at ``metres_per_px``."""
    zoom = best_zoom(kit[0], metres_per_px, file.min_zoom, file.max_zoom)
    scale = metres_per_pixel(kit[0], zoom) / metres_per_px  # plot px per tile px
    centre_x, centre_y = world_pixel(*kit, zoom)
    half = size / 2 / scale  # half the square, in tile pixels
    columns = range(math.floor((centre_x - half) / TILE_PX), math.floor((centre_x + half) / TILE_PX) + 1)
    last = (1 << zoom) - 1
    rows = range(max(0, math.floor((centre_y - half) / TILE_PX)), min(last, math.floor((centre_y + half) / TILE_PX))
                 + 1)
    if len(columns) * len(rows) > MAX_TILES_DRAWN:
        return Backdrop([], None, file.attribution, f"the cases spread wider than the tile file covers at its "
                                                    f"lowest zoom ({file.min_zoom}); the map is drawn without tiles")
    wrapped = [column % (last + 1) for column in columns]
    present = file.present(zoom, range(min(wrapped), max(wrapped) + 1), rows)
    images = [TileImage(f"/tiles/{zoom}/{wrapped_column}/{row}.{file.extension}",
                        size / 2 + (column * TILE_PX - centre_x) * scale, size / 2 + (row * TILE_PX - centre_y) * scale,
                        TILE_PX * scale)
              for column, wrapped_column in zip(columns, wrapped, strict=True) for row in rows
              if (wrapped_column, row) in present]
    note = None if images else f"the tile file holds no tiles around the kit at zoom {zoom}"
    return Backdrop(images, zoom, file.attribution, note)


def map_context(console: Console, plot) -> dict:
    """What map.html needs for its tiles: ``backdrop`` (None without a tile file or a plot)."""
    file, problem = current(console)
    if problem is not None:
        return {"backdrop": Backdrop([], None, "", problem)}
    if file is None or plot is None or console.kit_position is None:
        return {"backdrop": None}
    return {"backdrop": place(file, console.kit_position, plot.metres_per_px, plot.size)}


# -- the route ------------------------------------------------------------------------------------------------------

def _address(request: Request) -> tuple[int, int, int, str]:
    params = request.path_params
    parts = (params.get("z", ""), params.get("x", ""), params.get("y", ""))
    if not all(part.isascii() and part.isdigit() and len(part) <= 8 for part in parts):
        raise Refused(400, "a tile address is /tiles/ZOOM/COLUMN/ROW.EXT with whole numbers")
    zoom, column, row = map(int, parts)
    if zoom > MAX_ZOOM or column >= 1 << zoom or row >= 1 << zoom:
        raise Refused(400, f"no tile {zoom}/{column}/{row}: a column and row at zoom {zoom} are below {1 << zoom}")
    return zoom, column, row, params.get("ext", "")


async def tile(console: Console, request: Request) -> Response:
    """GET /tiles/{z}/{x}/{y}.{ext}: one tile (XYZ address), for a logged-in account."""
    console.require(request)
    zoom, column, row, extension = _address(request)
    file, _ = current(console)
    if file is None:
        raise Refused(404, "this kit has no map tiles")
    if extension != file.extension:
        raise Refused(404, f"the map tiles here are .{file.extension}")
    data = file.tile(zoom, column, row)
    if data is None:
        raise Refused(404, f"no tile {zoom}/{column}/{row} in the tile file")
    response = Response(data, media_type=file.media_type, headers={"cache-control": CACHE_CONTROL})
    return secure(response)
