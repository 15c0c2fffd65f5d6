"""Fixtures for the local-model tests: the real pinned models, configs with the local model on."""

from __future__ import annotations

from pathlib import Path

import pytest

from evy.llm import lockfile


@pytest.fixture(scope="session")
def pinned() -> list[lockfile.ModelEntry]:
    return lockfile.load()


@pytest.fixture(scope="session")
def chat_entry(pinned) -> lockfile.ModelEntry:
    return lockfile.find(pinned, "smollm2-135m-instruct")


@pytest.fixture(scope="session")
def chat_model_path(chat_entry) -> Path:
    return lockfile.resolve(chat_entry, Path("/nonexistent"))


@pytest.fixture(scope="session")
def config_for(config_for):
    """The shared config maker (tests/conftest.py) with the local model switched on unless a test says not."""
    return lambda data_dir, **settings: config_for(data_dir, **{"llm__enabled": True, **settings})
