"""A damaged database never stops the kit: the file is moved aside (with its write-ahead log, for
forensics), a fresh store is started, and every row that can still be read is carried over.

Rows are read table by table from both ends of each table, so one damaged page loses only the rows on it.
Afterwards references are repaired so the pipeline's promises hold on what is left: a reply whose message
was lost keeps its id reserved, a message whose reply was lost in the last hour is answered again (a
possible duplicate rather than a lost emergency reply), and parts of a lost message are joined again.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evy.store.db import StoreFull, classify, companions

if TYPE_CHECKING:
    from evy.store.db import Store

log = logging.getLogger("evy.store")

# Parents before children, so references can be repaired after the copy.
TABLES = ("cases", "messages", "parts", "outbox", "outbox_parts", "optouts", "counters", "modem_state", "unreadable",
          "incidents", "subscribers", "local_info", "broadcasts", "broadcast_recipients", "case_notes",
          "audit_log", "downlink_signers")
KEEP_DAMAGED = 3  # damaged files kept for forensics; older ones are removed so they cannot fill the disk
REANSWER_WITHIN = 3600.0  # seconds: a message whose reply was lost is answered again only if this recent


def replace_damaged(store: Store, reason: str) -> None:
    """Move the damaged file aside, open a fresh store (in memory if the disk is full) and carry over
    what can be read. ``store`` is reopened in place, so everything holding it keeps working."""
    store.close()
    moved = move_aside(store.path)
    try:
        store.connect()
    except StoreFull as exc:
        store.work_from_memory(f"{exc} (after moving a damaged database aside)")
    while True:
        try:
            recovered = _carry_over(store.db.raw, moved, reason)
            break
        except sqlite3.Error as exc:
            error = classify(exc, store.path, "salvaging a damaged database")
            if not isinstance(error, StoreFull) or not store.durable:
                raise error from None
            store.work_from_memory(str(error))  # a copy of what was carried over so far, then the rest
    log.error("%s; kept it as %s and started a fresh store; recovered: %s", reason, moved or "(nothing to keep)",
              summary(recovered))


def _carry_over(db: sqlite3.Connection, moved: Path | None, reason: str) -> dict[str, Any]:
    recovered: dict[str, Any] = {}
    source = _open_damaged(moved) if moved is not None else None
    if source is not None:
        try:
            recovered = copy_readable(source, db)
        finally:
            source.close()
    recovered.update(repair_references(db))
    db.execute("INSERT INTO incidents(at, kind, detail, moved_to, recovered) VALUES (?, 'damaged', ?, ?, ?)",
               (time.time(), reason, None if moved is None else str(moved), json.dumps(recovered)))
    return recovered


def summary(recovered: dict[str, Any]) -> str:
    rows = recovered.get("rows", {})
    text = ", ".join(f"{count} {table}" for table, count in rows.items() if count) or "nothing"
    if recovered.get("partly_read"):
        text += f"; partly read (rows lost): {', '.join(recovered['partly_read'])}"
    if recovered.get("answered_again"):
        text += f"; {recovered['answered_again']} messages will be answered again"
    return text


def set_aside_unread(store: Store) -> None:
    """The store went to memory without a copy of the file (it could not be read on the full disk). Before
    it goes back to disk, the file's opt-outs and modem state (the refused PIN) are merged into it and the
    file is kept aside whole: its message history cannot be merged without clashing ids."""
    source = _open_damaged(store.path)
    merged: dict[str, Any] = {}
    if source is not None:
        try:
            merged = copy_readable(source, store.db.raw, tables=("optouts", "counters", "modem_state", "incidents"))
        finally:
            source.close()
    moved = move_aside(store.path, label="unmerged")
    log.error("%s was not read when the disk was full; kept as %s, merged %s", store.path, moved, summary(merged))


def move_aside(path: Path, label: str = "damaged") -> Path | None:
    """Rename the file and its -wal/-shm to ``<name>.<label>-<UTC time>``; None if there was no file."""
    if not path.exists():
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    target = path.with_name(f"{path.name}.{label}-{stamp}")
    for source, destination in zip((path, *companions(path)), (target, *companions(target)), strict=True):
        with suppress(FileNotFoundError):
            source.rename(destination)
    _forget_old_damaged(path)
    return target


def _forget_old_damaged(path: Path) -> None:
    kept = sorted(p for p in path.parent.glob(f"{path.name}.damaged-*") if not p.name.endswith(("-wal", "-shm")))
    for old in kept[:-KEEP_DAMAGED]:
        for file in (old, *companions(old)):
            with suppress(OSError):
                file.unlink()
        log.warning("removed an old damaged database %s (the newest %d are kept)", old, KEEP_DAMAGED)


def _open_damaged(path: Path) -> sqlite3.Connection | None:
    try:
        source = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None)
        source.execute("PRAGMA query_only=ON")
        return source
    except sqlite3.Error as exc:
        log.error("%s: cannot read the damaged database at all: %s", path, exc)
        return None


def _readable_rows(source: sqlite3.Connection, table: str, columns: list[str]) -> tuple[list[tuple], bool]:
    """Every row that can be read, from the front until the damage, then from the back; True if all were."""
    select = f"SELECT rowid, {', '.join(columns)} FROM {table} ORDER BY rowid"
    rows: dict[int, tuple] = {}
    for order in ("", " DESC"):
        try:
            for row in source.execute(select + order):
                if row[0] in rows:
                    break
                rows[row[0]] = tuple(row[1:])
            else:
                if not order:
                    return list(rows.values()), True
        except sqlite3.DatabaseError:
            continue
    return [rows[rowid] for rowid in sorted(rows)], False


def _shared_columns(source: sqlite3.Connection, table: str, columns: list[str]) -> list[str]:
    """The columns of ``table`` that the damaged file has too (it may be of an older schema); all of them
    when its schema cannot be read."""
    try:
        found = {row[1] for row in source.execute(f"PRAGMA table_info({table})")}
    except sqlite3.DatabaseError:
        return columns
    return [column for column in columns if column in found] if found else []


def copy_readable(source: sqlite3.Connection, destination: sqlite3.Connection,
                  tables: tuple[str, ...] = TABLES) -> dict[str, Any]:
    """Copy every readable row of ``tables`` into a store (rows whose key is taken are skipped); how many
    per table, and which could only partly be read."""
    counts: dict[str, int] = {}
    partly: list[str] = []
    destination.execute("PRAGMA foreign_keys=OFF")  # references are repaired afterwards
    try:
        for table in tables:
            columns = [row[1] for row in destination.execute(f"PRAGMA table_info({table})")]
            columns = _shared_columns(source, table, columns)
            if not columns:
                continue  # a table the damaged file's (older) schema did not have
            rows, complete = _readable_rows(source, table, columns)
            if not complete:
                partly.append(table)
            marks = ", ".join("?" * len(columns))
            destination.execute("BEGIN IMMEDIATE")
            try:
                destination.executemany(f"INSERT OR IGNORE INTO {table}({', '.join(columns)}) VALUES ({marks})",
                                        rows)
            except BaseException:
                destination.execute("ROLLBACK")
                raise
            destination.execute("COMMIT")
            counts[table] = len(rows)
    finally:
        destination.execute("PRAGMA foreign_keys=ON")
    return {"rows": counts, "partly_read": partly}


def repair_references(db: sqlite3.Connection, now: float | None = None) -> dict[str, int]:
    """Make the salvaged rows consistent again (see the module docstring); how many were touched."""
    now = time.time() if now is None else now
    db.execute("BEGIN IMMEDIATE")
    try:
        # A reply whose message was lost: reserve the message id (a new message must not take it, or its
        # own reply would collide with this one) with a placeholder that is already handled.
        placeholders = db.execute(
            "INSERT INTO messages(id, sender, text, encoding, received_at, state, verdict, handled_at)"
            " SELECT o.message_id, MIN(o.recipient), '', 'gsm7', MIN(o.created_at), 'handled',"
            " 'lost with a damaged database', MIN(o.created_at) FROM outbox o WHERE o.message_id IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = o.message_id) GROUP BY o.message_id").rowcount
        # Parts of a lost message no reply points at: join them again.
        rejoined = db.execute(
            "UPDATE parts SET message_id = NULL WHERE message_id IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = parts.message_id)").rowcount
        # Parts of a lost reply cannot be sent without it; a queued reply with no parts left cannot either.
        db.execute("DELETE FROM outbox_parts WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id = outbox_id)")
        db.execute("DELETE FROM outbox WHERE state = 'queued'"
                   " AND NOT EXISTS (SELECT 1 FROM outbox_parts p WHERE p.outbox_id = outbox.id)")
        # A recent message that was answered but whose reply is gone: answer it again.
        again = db.execute(
            "UPDATE messages SET state = 'new', verdict = NULL, handled_at = NULL WHERE state = 'handled'"
            " AND (verdict = 'answered' OR verdict LIKE 'command:%') AND received_at >= ?"
            " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.message_id = messages.id AND o.kind = 'reply')",
            (now - REANSWER_WITHIN,)).rowcount
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return {"placeholders": placeholders, "rejoined_parts": rejoined, "answered_again": again}
