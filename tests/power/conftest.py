"""Fixtures for the power tests: a config maker, a fake sysfs tree of real files, and a /proc/meminfo copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from evy.config import parse
from evy.files import toml_value


@pytest.fixture
def power_config():
    def make(**power: object) -> object:
        lines = "\n".join(f"{key} = {toml_value(value)}" for key, value in power.items())
        return parse(f"[power]\n{lines}\n")

    return make


class SysfsTree:
    """/sys/class/power_supply in a temporary directory: one folder per supply, one file per attribute."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def supply(self, name: str, **attributes: object) -> Path:
        folder = self.root / name
        folder.mkdir(exist_ok=True)
        for attribute, value in attributes.items():
            (folder / attribute).write_text(f"{value}\n", encoding="ascii")
        return folder


@pytest.fixture
def sysfs(tmp_path) -> SysfsTree:
    return SysfsTree(tmp_path / "power_supply")


@pytest.fixture
def meminfo(tmp_path):
    def write(available_kb: int | None) -> Path:
        path = tmp_path / "meminfo"
        lines = ["MemTotal:        3884352 kB", "MemFree:          211344 kB"]
        if available_kb is not None:
            lines.append(f"MemAvailable:   {available_kb:>9} kB")
        path.write_text("\n".join([*lines, "Buffers:           40000 kB", ""]), encoding="ascii")
        return path

    return write
