"""Fixtures every test folder may use: one data directory per session and configs made on it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from evy.config import Config, parse


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One per session, shared by tests/llm and tests/rag, so the embedding model is converted only once.
    return tmp_path_factory.getbasetemp() / "evy-data"


@pytest.fixture(scope="session")
def config_for() -> Callable[..., Config]:
    def make(data_dir: Path, **settings: object) -> Config:
        """A validated config on ``data_dir``; settings as ``llm__model="x"`` (paths may be Path objects)."""
        values = {key: str(value) if isinstance(value, Path) else value for key, value in settings.items()}
        return parse(f'data_dir = "{data_dir}"\n').replace(**values)

    return make


def _unit_settings(path: Path) -> dict[str, list[str]]:
    """Every `Key=value` of a systemd unit, repeated keys kept in order (systemd adds them up)."""
    found: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


@pytest.fixture(scope="session")
def unit_settings() -> Callable[[Path], dict[str, list[str]]]:
    """The reader of a systemd unit's settings (the kit image's units and the cell's)."""
    return _unit_settings
