"""Small real MBTiles files for the tile tests: solid-colour PNG tiles written with zlib, rows stored in TMS
order as the MBTiles spec says, so a test can tell from a tile's colour which address the server read."""

from __future__ import annotations

import sqlite3
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path

from evy.store.mbtiles import flip_row


def png(rgb: tuple[int, int, int], side: int = 256) -> bytes:
    """A real ``side``×``side`` PNG of one colour (8-bit RGB, no filter)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * side
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * side, 9))
            + chunk(b"IEND", b""))


def colour(zoom: int, column: int, row: int) -> tuple[int, int, int]:
    """A colour that tells an XYZ address apart from its neighbours (and from its TMS twin)."""
    return (40 + zoom * 9) % 256, (column * 37) % 256, (row * 71 + 13) % 256


def make_mbtiles(path: Path, tiles: Iterable[tuple[int, int, int]], metadata: dict[str, str] | None = None,
                 data: dict[tuple[int, int, int], bytes] | None = None) -> Path:
    """An MBTiles file holding the given XYZ tiles (each its own colour unless ``data`` names its bytes)."""
    db = sqlite3.connect(path)
    with db:
        db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        db.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
        db.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
        db.executemany("INSERT INTO metadata VALUES (?, ?)", (metadata if metadata is not None else {
            "name": "test", "format": "png", "attribution": "© Test Map <b>contributors</b>"}).items())
        for zoom, column, row in tiles:
            body = (data or {}).get((zoom, column, row)) or png(colour(zoom, column, row))
            db.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (zoom, column, flip_row(row, zoom), body))
    db.close()
    return path


def around(lat: float, lon: float, zoom: int, reach: int = 2) -> list[tuple[int, int, int]]:
    """The XYZ tiles within ``reach`` tiles of a place."""
    from evy.console.tiles import tile_of

    column, row = tile_of(lat, lon, zoom)
    return [(zoom, column + dx, row + dy) for dx in range(-reach, reach + 1) for dy in range(-reach, reach + 1)]
