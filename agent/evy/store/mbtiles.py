"""A local MBTiles file of raster map tiles, read-only: checked once when opened, then read tile by tile.

MBTiles is SQLite with ``metadata(name, value)`` and ``tiles(zoom_level, tile_column, tile_row, tile_data)``,
rows numbered from the bottom (TMS). Callers address tiles top-down (XYZ, as browsers do); the row is flipped
here, at the one place a tile is read. It is the operator's file, not the agent's database: opened with
``mode=ro``, so nothing here can change it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

MAX_ZOOM = 24  # beyond any raster tile set; keeps 2**zoom and the row flip in plain integers
MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}


class TileFileError(Exception):
    """The MBTiles file cannot be used; the message is one line an operator can act on."""


def flip_row(row: int, zoom: int) -> int:
    """An XYZ row as a TMS row, and back (the same flip both ways)."""
    return (1 << zoom) - 1 - row


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


class TileFile:
    """A validated, read-only MBTiles file of raster tiles."""

    def __init__(self, path: Path, db: sqlite3.Connection, extension: str, min_zoom: int, max_zoom: int,
                 attribution: str):
        self.path = path
        self.extension = extension
        self.media_type = MEDIA_TYPES[extension]
        self.min_zoom = min_zoom
        self.max_zoom = max_zoom
        self.attribution = attribution
        self._db = db

    @classmethod
    def open(cls, path: Path) -> TileFile:
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        except sqlite3.Error as exc:
            raise TileFileError(f"cannot open it read-only: {exc}") from None
        try:
            return cls._checked(path, db)
        except BaseException:
            db.close()
            raise

    @classmethod
    def _checked(cls, path: Path, db: sqlite3.Connection) -> TileFile:
        try:
            metadata = {str(name): str(value) for name, value in db.execute("SELECT name, value FROM metadata")}
        except sqlite3.DatabaseError as exc:
            raise TileFileError(f"no MBTiles metadata table ({exc})") from None
        try:
            first = db.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles LIMIT 1").fetchone()
            lowest, highest = db.execute("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles").fetchone()
        except sqlite3.DatabaseError as exc:
            raise TileFileError(f"no MBTiles tiles(zoom_level, tile_column, tile_row, tile_data) table ({exc})"
                                ) from None
        if first is None:
            raise TileFileError("it holds no tiles")
        found = _sniff(bytes(first[3] or b""))
        declared = metadata.get("format", "").strip().lower().replace("jpeg", "jpg") or found
        if declared not in MEDIA_TYPES:
            raise TileFileError(f"its tiles are {declared or 'of an unknown format'}: the map draws raster png, "
                                "jpg or webp tiles (vector pbf tiles need a renderer the kit does not carry)")
        if found != declared:
            raise TileFileError(f"its metadata says {declared} but the tiles are {found or 'not an image'}")
        if not (isinstance(lowest, int) and isinstance(highest, int) and 0 <= lowest <= highest <= MAX_ZOOM):
            raise TileFileError(f"its zoom levels {lowest}..{highest} are outside 0..{MAX_ZOOM}")
        return cls(path, db, declared, lowest, highest, metadata.get("attribution", "").strip())

    def tile(self, zoom: int, column: int, row: int) -> bytes | None:
        """One tile by its XYZ address, or None when the file does not hold it."""
        found = self._db.execute("SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND "
                                 "tile_row = ?", (zoom, column, flip_row(row, zoom))).fetchone()
        return None if found is None else bytes(found[0])

    def present(self, zoom: int, columns: range, rows: range) -> set[tuple[int, int]]:
        """The XYZ (column, row) pairs in a block that the file holds."""
        if not columns or not rows:
            return set()
        found = self._db.execute(
            "SELECT tile_column, tile_row FROM tiles WHERE zoom_level = ? AND tile_column BETWEEN ? AND ? AND "
            "tile_row BETWEEN ? AND ?", (zoom, columns[0], columns[-1], flip_row(rows[-1], zoom),
                                        flip_row(rows[0], zoom)))
        return {(column, flip_row(row, zoom)) for column, row in found}

    def close(self) -> None:
        self._db.close()
