"""SQLite connections that can load sqlite-vec and have FTS5.

Python's stdlib ``sqlite3`` is used when it was built with extension loading (Debian's python3 is);
otherwise ``pysqlite3`` (the ``pysqlite3-binary`` wheel, a newer SQLite with FTS5) stands in. Both share
the DB-API, so callers do not care which one they got.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

from evy.rag.errors import SqliteExtensionError


def driver() -> ModuleType:
    """The DB-API module to use: stdlib sqlite3 if it can load extensions, else pysqlite3."""
    if hasattr(sqlite3.Connection, "enable_load_extension"):
        return sqlite3
    try:
        from pysqlite3 import dbapi2
    except ImportError:
        raise SqliteExtensionError("this Python's sqlite3 cannot load extensions and pysqlite3 is not "
                                   "installed (pip install pysqlite3-binary)") from None
    return dbapi2


def connect(path: Path | str, *, vectors: bool = True, readonly: bool = False):
    """A connection with FTS5 and (unless ``vectors`` is false) sqlite-vec loaded."""
    module = driver()
    target = f"file:{quote(str(Path(path).resolve()))}?mode=ro" if readonly else str(path)
    try:
        db = module.connect(target, uri=readonly, check_same_thread=False)
    except module.Error as exc:
        raise SqliteExtensionError(f"{path}: cannot open: {exc}") from None
    if vectors:
        try:
            import sqlite_vec

            db.enable_load_extension(True)
            sqlite_vec.load(db)
            db.enable_load_extension(False)
        except (ImportError, module.Error, AttributeError) as exc:
            db.close()
            raise SqliteExtensionError(f"cannot load sqlite-vec: {exc}") from None
    return db


def has_fts5(db) -> bool:
    return bool(db.execute("SELECT sqlite_compileoption_used('ENABLE_FTS5')").fetchone()[0])
