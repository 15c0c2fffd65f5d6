"""SQLite in WAL mode on the data partition; every write that the pipeline's promises rest on is committed
with synchronous=FULL, so a power cut after a commit never loses it."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from evy.errors import EvyError

SCHEMA_VERSION = 2  # schema.sql is version 1; migrations/N.sql takes a database from N-1 to N


class StoreError(EvyError):
    """The database cannot be opened or written (full disk, corruption, permissions)."""


def _upgrade(db: sqlite3.Connection, version: int) -> None:
    """Bring a database at ``version`` (0: empty) to SCHEMA_VERSION in one transaction."""
    files = resources.files("evy.store")
    scripts = [] if version else [files.joinpath("schema.sql").read_text("utf-8")]
    scripts += [files.joinpath("migrations", f"{step}.sql").read_text("utf-8")
                for step in range(max(version, 1) + 1, SCHEMA_VERSION + 1)]
    db.executescript(f"BEGIN; {';'.join(scripts)}; PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")


class Store:
    """The agent's database. Open with :meth:`open`; use as a context manager; close is idempotent."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None

    @classmethod
    def open(cls, path: Path | str) -> Store:
        store = cls(Path(path))
        store.connect()
        return store

    def connect(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.path.parent}: cannot create data directory: {exc.strerror}") from None
        try:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.path}: database schema v{version} is newer than this agent's"
                                 f" (v{SCHEMA_VERSION})")
            if version < SCHEMA_VERSION:
                _upgrade(db, version)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot open database: {exc}") from None
        self._db = db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError("store is not open")
        return self._db

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work; errors become a one-line StoreError.

        ``durable=False`` skips the fsync at commit: a power cut may lose that transaction, but never a
        later durable one, since the WAL is synced in order. Use it only where redoing the work after a
        power cut is harmless (reassembly, queueing a reply that has not left yet, modem state).
        """
        db = self.db
        try:
            db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if "full" in str(exc):
                raise StoreError(f"{self.path}: disk full, cannot store: {exc}") from None
            raise StoreError(f"{self.path}: database write failed: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: database error: {exc}") from None

    def next_counter(self, name: str, modulo: int) -> int:
        """A persistent rolling counter (concatenation references) so restarts never reuse one soon."""
        with self.transaction() as db:
            row = db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
            value = 0 if row is None else (row[0] + 1) % modulo
            db.execute("INSERT INTO counters(name, value) VALUES (?, ?) "
                       "ON CONFLICT(name) DO UPDATE SET value = excluded.value", (name, value))
        return value

    def set_modem_state(self, **values: str) -> None:
        now = time.time()
        with self.transaction(durable=False) as db:
            db.executemany("INSERT INTO modem_state(key, value, at) VALUES (?, ?, ?) "
                           "ON CONFLICT(key) DO UPDATE SET value = excluded.value, at = excluded.at",
                           [(k, v, now) for k, v in values.items()])

    def integrity_check(self) -> str:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0]
