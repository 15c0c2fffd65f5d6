"""A console over a real database file, with accounts whose passwords the tests know."""

from __future__ import annotations

from pathlib import Path

import pytest

from evy.config import parse
from evy.console.auth import hash_password
from evy.store import Store
from evy.store import cases as case_store

OPERATOR_PASSWORD = "correct horse battery"
OBSERVER_PASSWORD = "observer password 1"
SENDER = "+254700000001"


@pytest.fixture(scope="session")
def password_hashes() -> tuple[str, str]:
    return hash_password(OPERATOR_PASSWORD), hash_password(OBSERVER_PASSWORD)


def console_config(password_hashes: tuple[str, str], **changes):
    operator, observer = password_hashes
    settings = {"console__operator_password_hash": operator, "console__observer_password_hash": observer,
                "console__listen": ["127.0.0.1"], "cases__kit_position": "-1.2921, 36.8219",
                "console__login_attempts": 3, **changes}
    return parse("").replace(**settings)


def add_case(store: Store, sender: str, texts: list[str], at: float, **fields) -> int:
    """A case with inbound messages, as the agent leaves it."""
    from dataclasses import replace

    with store.transaction() as db:
        case = case_store.open_case(db, sender, at)
        case_store.save(db, replace(case, **fields))
        for offset, text in enumerate(texts):
            db.execute("INSERT INTO messages(sender, text, encoding, received_at, case_id, state) VALUES"
                       " (?, ?, 'gsm7', ?, ?, 'handled')", (sender, text, at + offset, case.id))
    return case.id


@pytest.fixture()
def database(tmp_path: Path) -> Path:
    path = tmp_path / "evy.db"
    Store.open(path).close()
    return path
