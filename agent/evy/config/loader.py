"""Read, validate and render the agent's TOML config against the settings table."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from evy.config.core import DEFAULT_PATH, updates_dir
from evy.config.table import SETTINGS, TABLE
from evy.errors import ConfigError, read_text
from evy.files import parse_toml, toml_value


class Config:
    """Validated settings; read them as ``config["modem.port"]`` or ``config.modem.port``."""

    def __init__(self, values: Mapping[str, Any], source: Path | None = None):
        self._values = dict(values)
        self.source = source

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._values:
            return self._values[name]
        if name in TABLE.sections:
            return _Section(self, name)
        raise AttributeError(f"no setting or section {name!r}")

    def items(self) -> Iterator[tuple[str, Any]]:
        yield from ((s.key, self._values[s.key]) for s in SETTINGS)

    def replace(self, **changes: Any) -> Config:
        """A copy with some settings changed (dotted keys as ``modem__port``), validated like a file."""
        raw = {key.replace("__", "."): value for key, value in changes.items()}
        values = dict(self._values)
        values.update(TABLE.parse_values(raw))
        return Config(values, self.source)

    @property
    def emergency_number(self) -> str:
        """The number every emergency reply names: the override, else the country's, else 112."""
        from evy.protocols.numbers import emergency_number

        return self._values["emergency_number"] or emergency_number(self._values["country"])


class _Section:
    def __init__(self, config: Config, name: str):
        self._config, self._name = config, name

    def __getattr__(self, name: str) -> Any:
        return self._config[f"{self._name}.{name}"]


def parse(text: str, source: Path | None = None) -> Config:
    """Validate TOML text; the first problem raises :class:`ConfigError` naming the key path."""
    where = f"{source}: " if source else ""
    try:
        values = TABLE.read(parse_toml(text, str(source or ""), ConfigError), where)
    except RecursionError:
        raise ConfigError(f"{where}not valid TOML: arrays or tables nested too deeply") from None
    config = Config(values, source)
    try:
        _ = config.emergency_number  # a country without a verified number is rejected here, not mid-emergency
    except ConfigError as exc:
        raise ConfigError(f"{where}{exc}") from None
    return config


def load(path: Path | str | None = None) -> Config:
    """Load the config file; a missing default file means all defaults, a missing named file is an error."""
    if path is None:
        if not DEFAULT_PATH.exists():
            return parse("")
        path = DEFAULT_PATH
    path = Path(path)
    return with_updates(parse(read_text(path, "config", ConfigError), path))


UPDATES_FILE = "config.toml"  # in updates_dir: the settings the coordination cell changed (evy/downlink)


def with_updates(config: Config) -> Config:
    """``config`` with the settings the cell sent by signed update (only those in REMOTE_SETTINGS, each
    validated by its row). A file that no longer reads is logged and ignored: the kit runs on its own file."""
    from evy.downlink.settings import REMOTE_SETTINGS

    path = updates_dir(config["data_dir"]) / UPDATES_FILE
    if not path.is_file():
        return config
    try:
        flat = dict(TABLE.flatten(parse_toml(read_text(path, "config update", ConfigError), str(path),
                                             ConfigError)))
        refused = sorted(set(flat) - set(REMOTE_SETTINGS))
        if refused:
            raise ConfigError(f"{path}: {refused[0]} may not be changed by the cell")
        values = TABLE.parse_values(flat, f"{path}: ")
    except ConfigError as exc:
        logging.getLogger("evy.config").warning("settings from the cell not used: %s", exc)
        return config
    return Config({**config._values, **values}, config.source)


def render_toml(config: Config) -> str:
    """The effective config as TOML, each setting with its help as a comment (for `evy config show`)."""
    lines: list[str] = []
    current = None
    for setting in SETTINGS:
        if setting.section != current:
            current = setting.section
            if current:
                lines += ["", f"[{current}]"]
        value = config[setting.key]
        lines.append(f"# {setting.help}")
        lines.append(f"# {setting.name} =" if value is None else f"{setting.name} = {toml_value(value)}")
    return "\n".join(lines).lstrip() + "\n"


def render_markdown() -> str:
    """docs/config.md: the reference made from the table, so the docs can't drift from the code."""
    return "\n".join(["# Agent configuration (`/etc/evy/evy.toml`)", "",
                      "Generated from the settings table (`evy config docs > docs/config.md`); do not edit by hand.",
                      "Unknown keys and bad values are rejected with the key path and the reason (`evy config check`).",
                      "", TABLE.reference_markdown()])
