"""Fixtures for the local-model tests: the real pinned models, a config pointing at a per-session data dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from evy.config import parse
from evy.llm import lockfile


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Shared by tests/llm and tests/rag so the embedding model is converted once per session.
    return tmp_path_factory.getbasetemp() / "evy-data"


@pytest.fixture(scope="session")
def pinned() -> list[lockfile.ModelEntry]:
    return lockfile.load()


@pytest.fixture(scope="session")
def chat_entry(pinned) -> lockfile.ModelEntry:
    return lockfile.find(pinned, "smollm2-135m-instruct")


@pytest.fixture(scope="session")
def chat_model_path(chat_entry) -> Path:
    return lockfile.resolve(chat_entry, Path("/nonexistent"))


def make_config(data_dir: Path, **settings: object):
    """A validated config on ``data_dir``; settings as ``llm__model="x"`` (paths may be Path objects)."""
    values = {key: str(value) if isinstance(value, Path) else value for key, value in settings.items()}
    return parse(f'data_dir = "{data_dir}"\n[llm]\nenabled = true\n').replace(**values)


@pytest.fixture(scope="session")
def config_for():
    return make_config
