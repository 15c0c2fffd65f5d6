"""Local information in the store: operator-set facts per topic, each with an expiry (see evy.localinfo)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evy.store.db import Store


@dataclass(frozen=True)
class Fact:
    id: int
    topic: str
    language: str  # '' for every language
    text: str
    updated_at: float
    expires_at: float
    updated_by: str | None


_COLUMNS = ", ".join(Fact.__dataclass_fields__)


def add(store: Store, *, topic: str, language: str, text: str, expires_at: float, updated_by: str | None,
        now: float) -> int:
    with store.transaction() as db:
        return db.execute("INSERT INTO local_info(topic, language, text, updated_at, expires_at, updated_by)"
                          " VALUES (?, ?, ?, ?, ?, ?)",
                          (topic, language, text, now, expires_at, updated_by)).lastrowid


def update(store: Store, fact_id: int, *, text: str, expires_at: float, updated_by: str | None, now: float) -> bool:
    with store.transaction() as db:
        return db.execute("UPDATE local_info SET text = ?, expires_at = ?, updated_by = ?, updated_at = ?"
                          " WHERE id = ?", (text, expires_at, updated_by, now, fact_id)).rowcount == 1


def remove(store: Store, fact_id: int) -> bool:
    with store.transaction() as db:
        return db.execute("DELETE FROM local_info WHERE id = ?", (fact_id,)).rowcount == 1


def get(store: Store, fact_id: int) -> Fact | None:
    row = store.db.execute(f"SELECT {_COLUMNS} FROM local_info WHERE id = ?", (fact_id,)).fetchone()
    return None if row is None else Fact(**dict(row))


def current(store: Store, topics: Sequence[str], language: str, now: float) -> list[Fact]:
    """Unexpired facts on ``topics`` for a reader of ``language``: per topic, those written for that
    language when there are any, else those for every language; newest first."""
    if not topics:
        return []
    marks = ", ".join("?" * len(topics))
    rows = store.db.execute(
        f"SELECT {_COLUMNS} FROM local_info WHERE topic IN ({marks}) AND expires_at > ? AND language IN ('', ?)"
        " ORDER BY updated_at DESC, id DESC", (*topics, now, language)).fetchall()
    facts = [Fact(**dict(row)) for row in rows]
    own = {fact.topic for fact in facts if fact.language == language and language}
    return [fact for fact in facts if fact.language == language or fact.topic not in own]


def listing(store: Store, now: float | None = None) -> list[Fact]:
    """Every fact for the console (with ``now``, only the unexpired ones), by topic then newest first."""
    where, params = ("WHERE expires_at > ?", (now,)) if now is not None else ("", ())
    rows = store.db.execute(f"SELECT {_COLUMNS} FROM local_info {where} ORDER BY topic, updated_at DESC, id DESC",
                            params).fetchall()
    return [Fact(**dict(row)) for row in rows]


def purge_expired(store: Store, before: float) -> int:
    with store.transaction(durable=False) as db:
        return db.execute("DELETE FROM local_info WHERE expires_at <= ?", (before,)).rowcount
