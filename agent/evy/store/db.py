"""SQLite in WAL mode on the data partition; every write that the pipeline's promises rest on is committed
with synchronous=FULL, so a power cut after a commit never loses it.

Every statement runs through :class:`GuardedConnection`, which reads each result completely and turns any
SQLite failure into a :class:`StoreError` naming what went wrong: :class:`StoreCorrupt` for a damaged file
(the agent moves it aside and starts a fresh store with what can be read, see :mod:`evy.store.salvage`),
:class:`StoreFull` for a full disk (the agent works from a copy in memory until there is room again).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from importlib import resources
from pathlib import Path
from typing import Any

from evy.errors import EvyError

SCHEMA_VERSION = 7  # schema.sql: every table of version 1 (idempotent); migrations/N.sql: from N-1 to N
PERSIST_EVERY = 10.0  # seconds between attempts to move a store kept in memory back to disk
MIN_FREE_BYTES = 256 * 1024  # below this, an I/O error on the data partition is taken for a full disk

log = logging.getLogger("evy.store")


class StoreError(EvyError):
    """The database cannot be opened or written (full disk, corruption, permissions)."""


class StoreCorrupt(StoreError):
    """The database file is damaged: it must be moved aside and a fresh store started."""


class StoreFull(StoreError):
    """No room on the data partition for the write."""


def free_bytes(directory: Path) -> int:
    try:
        stat = os.statvfs(directory)
    except OSError:
        return 0
    return stat.f_bavail * stat.f_frsize


def classify(exc: sqlite3.Error, path: Path, doing: str) -> StoreError:
    """The StoreError for a SQLite failure: damaged file, full disk, or anything else."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return StoreCorrupt(f"{path}: database file is damaged ({exc}) while {doing}")
    if code == sqlite3.SQLITE_FULL or (code == sqlite3.SQLITE_IOERR and free_bytes(path.parent) < MIN_FREE_BYTES):
        return StoreFull(f"{path}: disk full, cannot store ({doing}): {exc}")
    return StoreError(f"{path}: database error while {doing}: {exc}")


class Rows:
    """A result read to the end inside the wrapper, so a damaged page surfaces as a StoreError there and
    never later in a caller's loop. Behaves like the few cursor methods the store modules use."""

    def __init__(self, rows: list[Any], rowcount: int, lastrowid: int | None):
        self._rows = rows
        self._next = 0
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[Any]:
        rest, self._next = self._rows[self._next:], len(self._rows)
        return rest

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class GuardedConnection:
    """The only way the agent talks to its database: ``execute``/``executemany`` like sqlite3's."""

    def __init__(self, raw: sqlite3.Connection, path: Path):
        self.raw = raw
        self.path = path

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Rows:
        try:
            cursor = self.raw.execute(sql, params)
            rows = cursor.fetchall()
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorcode", None) is None:
                raise  # a programming error (wrong bindings), not the database's fault
            raise classify(exc, self.path, _verb(sql)) from None
        return Rows(rows, cursor.rowcount, cursor.lastrowid)

    def executemany(self, sql: str, params: Any) -> Rows:
        try:
            cursor = self.raw.executemany(sql, params)
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorcode", None) is None:
                raise
            raise classify(exc, self.path, _verb(sql)) from None
        return Rows([], cursor.rowcount, cursor.lastrowid)


def _verb(sql: str) -> str:
    words = sql.split()
    return "reading" if words and words[0].upper() in ("SELECT", "PRAGMA") else "writing"


def _upgrade(raw: sqlite3.Connection, version: int) -> None:
    """Bring a database at ``version`` (0: empty) to SCHEMA_VERSION in one transaction."""
    files = resources.files("evy.store")
    scripts = [files.joinpath("schema.sql").read_text("utf-8")]
    scripts += [files.joinpath("migrations", f"{step}.sql").read_text("utf-8")
                for step in range(max(version, 1) + 1, SCHEMA_VERSION + 1)]
    raw.executescript(f"BEGIN; {';'.join(scripts)}; PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")


def prepare(raw: sqlite3.Connection, path: Path) -> None:
    """Pragmas and schema (created, or migrated from an older version)."""
    raw.row_factory = sqlite3.Row
    if str(path) != ":memory:":
        raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=FULL")
    raw.execute("PRAGMA foreign_keys=ON")
    version = raw.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path}: database schema v{version} is newer than this agent's (v{SCHEMA_VERSION})")
    if version < SCHEMA_VERSION:
        _upgrade(raw, version)


class Store:
    """The agent's database. Open with :meth:`open`; use as a context manager; close is idempotent.

    ``durable`` is False while the store lives in memory because the disk is full (see :meth:`open` with
    ``recover=True``); :meth:`persist` moves it back to disk once there is room.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._db: GuardedConnection | None = None
        self.durable = True
        self.degraded: str | None = None  # why the store is in memory, for logs and `evy status`
        self._next_persist = 0.0
        self._unread_file = False

    @classmethod
    def open(cls, path: Path | str, *, recover: bool = False) -> Store:
        """Open the database. With ``recover`` (the agent): a damaged file is moved aside and a fresh store
        started with what could be read; a full disk gives a store in memory instead of an error."""
        store = cls(Path(path))
        if recover:
            store.connect_or_recover()
        else:
            store.connect()
        return store

    def connect(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.path.parent}: cannot create data directory: {exc.strerror}") from None
        if _empty_file(self.path):
            raise StoreCorrupt(f"{self.path}: database file is empty (0 bytes)")
        self._db = GuardedConnection(self._connect_file(), self.path)
        self.durable, self.degraded = True, None

    def _connect_file(self) -> sqlite3.Connection:
        raw = None
        existed = self.path.exists()
        try:
            if existed:
                _check_read_only(self.path)
            raw = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
            prepare(raw, self.path)
        except sqlite3.DatabaseError as exc:
            if raw is not None:
                with suppress(sqlite3.Error):
                    raw.close()
            if not existed:  # a full disk left an empty file behind: it is not a lost database
                for leftover in (self.path, *companions(self.path)):
                    with suppress(OSError):
                        if leftover.stat().st_size == 0:
                            leftover.unlink()
            error = classify(exc, self.path, "opening")
            full = " (disk full)" if isinstance(error, StoreFull) else ""
            raise type(error)(f"{self.path}: cannot open database: {exc}{full}") from None
        except StoreError:
            if raw is not None:
                with suppress(sqlite3.Error):
                    raw.close()
            raise
        return raw

    def connect_or_recover(self) -> None:
        from evy.store import salvage

        try:
            self.connect()
        except StoreCorrupt as exc:
            salvage.replace_damaged(self, str(exc))
        except StoreFull as exc:
            self.work_from_memory(str(exc))

    @classmethod
    def copy_in_memory(cls, path: Path | str, reason: str) -> Store:
        """A read-only look at a database on a full disk (for `evy status`): a copy of it in memory."""
        store = cls(Path(path))
        store.work_from_memory(reason, announce=False)
        return store

    def work_from_memory(self, reason: str, announce: bool = True) -> None:
        """Carry on in a store in memory (a copy of the database when it can be read) until :meth:`persist`."""
        memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        source, opened_here = (self._db.raw, False) if self._db is not None else (None, True)
        if source is None and self.path.exists() and not _empty_file(self.path):
            source = _exclusive_reader(self.path)
        copied = False
        if source is not None:
            try:
                source.backup(memory)
                copied = True
            except sqlite3.Error as exc:
                log.error("%s: cannot read the database to work from memory (%s); starting empty", self.path, exc)
            finally:
                if opened_here:
                    source.close()
        # A file that could not be read must not be overwritten when the store goes back to disk.
        self._unread_file = not copied and self.path.exists() and not _empty_file(self.path)
        prepare(memory, Path(":memory:"))
        self.close()
        self._db = GuardedConnection(memory, self.path)
        self.durable, self.degraded = False, reason
        self._next_persist = time.monotonic() + PERSIST_EVERY
        if announce:
            log.error("%s; working from memory%s until there is room: received messages stay on the SIM",
                      reason, " (a copy of the database)" if copied else "")

    def persist(self, force: bool = False) -> bool:
        """Move a store kept in memory to disk once there is room; True when the store is on disk."""
        if self.durable:
            return True
        if not force and time.monotonic() < self._next_persist:
            return False
        self._next_persist = time.monotonic() + PERSIST_EVERY
        disk = None
        try:
            if _empty_file(self.path):
                self.path.unlink()
            if self._unread_file and free_bytes(self.path.parent) >= MIN_FREE_BYTES:
                from evy.store import salvage

                salvage.set_aside_unread(self)
                self._unread_file = False
            disk = self._connect_file()
            self.db.raw.backup(disk)
            disk.execute("PRAGMA journal_mode=WAL")
        except (sqlite3.Error, StoreError, OSError) as exc:
            if disk is not None:
                with suppress(sqlite3.Error):
                    disk.close()
            log.info("%s: still no room to store the database (%s)", self.path, exc)
            return False
        self.db.raw.close()
        self._db = GuardedConnection(disk, self.path)
        log.warning("%s: there is room again; the store kept in memory is on disk (was: %s)", self.path,
                    self.degraded)
        self.durable, self.degraded = True, None
        return True

    def close(self) -> None:
        if self._db is not None:
            with suppress(sqlite3.Error):
                self._db.raw.close()
            self._db = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def db(self) -> GuardedConnection:
        if self._db is None:
            raise StoreError("store is not open")
        return self._db

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[GuardedConnection]:
        """One atomic unit of work; errors become a one-line StoreError.

        ``durable=False`` skips the fsync at commit: a power cut may lose that transaction, but never a
        later durable one, since the WAL is synced in order. Use it only where redoing the work after a
        power cut is harmless (reassembly, queueing a reply that has not left yet, modem state).
        """
        db = self.db
        db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            with suppress(sqlite3.Error):
                db.raw.execute("ROLLBACK")
            raise
        try:
            db.execute("COMMIT")
        except StoreError:
            with suppress(sqlite3.Error):
                db.raw.execute("ROLLBACK")
            raise

    def integrity_check(self) -> str:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0]


def _empty_file(path: Path) -> bool:
    """A database file of 0 bytes with no write-ahead log: whatever it held is gone."""
    try:
        if path.stat().st_size != 0:
            return False
    except FileNotFoundError:
        return False
    wal = companions(path)[0]
    return not wal.exists() or wal.stat().st_size == 0


def _check_read_only(path: Path) -> None:
    """A quick integrity check on a read-only connection: closing a writer would fold the write-ahead log
    into a damaged file, and the log is kept for forensics (and read back by the salvage)."""
    reader = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=10)
    try:
        verdict = reader.execute("PRAGMA quick_check(1)").fetchone()[0]
    finally:
        reader.close()
    if verdict != "ok":
        raise StoreCorrupt(f"{path}: database file is damaged (integrity check: {' '.join(verdict.split())})")


def companions(path: Path) -> list[Path]:
    """The write-ahead log and shared-memory index SQLite keeps beside a database file."""
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]


def _exclusive_reader(path: Path) -> sqlite3.Connection | None:
    """A connection that reads the file and its write-ahead log without the shared-memory index, which a
    full disk cannot hold (exclusive locking keeps that index in the process's memory)."""
    try:
        raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=2)
        raw.execute("PRAGMA locking_mode=EXCLUSIVE")
        raw.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        log.error("%s: cannot read the database on a full disk: %s", path, exc)
        return None
    return raw
