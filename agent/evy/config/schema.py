"""One row per setting, the parsers its values go through, and the table that reads and documents them.

Both settings tables are made of these: the agent's (:mod:`evy.config.table`, ``/etc/evy/evy.toml``) and the
image builder's profile (``image/evyimage/profile.py``). Standard library only, and importing no other part of
the agent, so the image builder on the host can use it.
"""

from __future__ import annotations

import difflib
import inspect
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evy.files import toml_value


class BadValue(ValueError):
    """A value does not parse; the message says why (without the key, which the caller adds)."""


Parser = Callable[[Any], Any]


class _Required:
    def __repr__(self) -> str:
        return "required"


REQUIRED: Any = _Required()  # the default of a setting that has none: leaving it out is an error


@dataclass(frozen=True)
class Setting:
    """A config setting: dotted key, parser, default and the help text the docs are made from."""

    key: str
    parse: Parser
    default: Any
    help: str
    example: Any = field(default=None)

    @property
    def section(self) -> str:
        return self.key.rpartition(".")[0]

    @property
    def name(self) -> str:
        return self.key.rpartition(".")[2]

    @property
    def kind(self) -> str:
        """What the parser accepts, for the reference table: the first line of its docstring."""
        return (self.parse.__doc__ or "value").strip().splitlines()[0]


def defaults_from(settings: Iterable[Setting], section: str, **renamed: str) -> Callable[[type], type]:
    """Class decorator, placed under ``@dataclass``: each annotated field without a default of its own takes
    the default of the setting ``section.<field>`` (``renamed`` maps a field to another setting name), so a
    typed settings object never restates a default or drifts from the table. A field with no such setting
    is a TypeError at import."""
    rows = {s.name: s for s in settings if s.section == section}

    def decorate(cls: type) -> type:
        for field_name in inspect.get_annotations(cls):
            if field_name in cls.__dict__:
                continue
            name = renamed.get(field_name, field_name)
            if name not in rows:
                raise TypeError(f"{cls.__name__}.{field_name}: no setting {section}.{name}")
            row = rows[name]
            setattr(cls, field_name, None if row.default is None else row.parse(row.default))
        return cls

    return decorate


class SettingsTable:
    """Settings read from nested TOML tables against their rows: unknown keys are refused (with the likeliest
    meant one), values parsed, defaults filled in, and the reference table made, all from the rows.

    ``error`` is the exception raised, with a one-line message that starts with ``where`` and names the key;
    ``noun`` is what the messages call a key ("setting", "key").
    """

    def __init__(self, settings: Iterable[Setting], error: type[Exception], noun: str = "setting"):
        self.settings = tuple(settings)
        self.by_key = {s.key: s for s in self.settings}
        if len(self.by_key) != len(self.settings):
            raise ValueError("a setting is declared twice")
        self.sections = tuple(dict.fromkeys(s.section for s in self.settings if s.section))
        self.error, self.noun = error, noun

    def flatten(self, table: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
        """Dotted keys and their values; a table that is itself a setting's value stays whole."""
        for key, value in table.items():
            dotted = f"{prefix}{key}"
            if isinstance(value, Mapping) and dotted not in self.by_key:
                yield from self.flatten(value, dotted + ".")
            else:
                yield dotted, value

    def parse_values(self, flat: Mapping[str, Any], where: str = "") -> dict[str, Any]:
        """Each dotted key's value parsed by its row; the first unknown key or bad value raises."""
        values = {}
        for key, value in flat.items():
            setting = self.by_key.get(key)
            if setting is None:
                raise self.error(f"{where}{key}: unknown {self.noun}{self._hint(key)}")
            try:
                values[key] = setting.parse(value)
            except BadValue as exc:
                raise self.error(f"{where}{key}: {exc}") from None
        return values

    def defaults(self) -> dict[str, Any]:
        """Every setting's default, parsed like a value (None stays None; required ones are left out)."""
        return {s.key: None if s.default is None else s.parse(s.default)
                for s in self.settings if s.default is not REQUIRED}

    def read(self, table: Mapping[str, Any], where: str = "") -> dict[str, Any]:
        """Every setting: the table's values over the defaults. A required setting left out raises."""
        values = self.defaults()
        values.update(self.parse_values(dict(self.flatten(table)), where))
        for setting in self.settings:
            if setting.key not in values:
                raise self.error(f"{where}{setting.key}: missing (required)")
        return values

    def section_defaults(self, section: str) -> dict[str, Any]:
        """``name -> default`` of one section's settings (for the typed objects built from a section)."""
        defaults = self.defaults()
        return {s.name: defaults[s.key] for s in self.settings if s.section == section}

    def reference_markdown(self) -> str:
        """The reference table (key, type, default, meaning) the docs carry."""
        lines = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
        for s in self.settings:
            default = ("required" if s.default is REQUIRED else "—" if s.default is None
                       else f"`{toml_value(s.default)}`")
            lines.append(f"| `{s.key}` | {s.kind.replace('|', chr(92) + '|')} | {default} | {s.help} |")
        return "\n".join(lines) + "\n"

    def _hint(self, key: str) -> str:
        close = difflib.get_close_matches(key, self.by_key, n=1)
        if close:
            return f" (did you mean {close[0]}?)"
        section = key.rpartition(".")[0]
        known = [s.name for s in self.settings if section and s.section == section]
        return f" (known in [{section}]: {', '.join(known)})" if known else ""


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def string(value: Any) -> str:
    if not isinstance(value, str):
        raise BadValue(f"expected a string, got {_describe(value)}")
    return value


def optional_string(value: Any) -> str | None:
    return None if value in (None, "") else string(value)


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadValue(f"expected true or false, got {_describe(value)}")
    return value


def integer(minimum: int | None = None, maximum: int | None = None) -> Parser:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadValue(f"expected an integer, got {_describe(value)}")
        _check_range(value, minimum, maximum)
        return value

    parse.__doc__ = f"integer{_range_text(minimum, maximum)}"
    return parse


def number(minimum: float | None = None, maximum: float | None = None) -> Parser:
    def parse(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadValue(f"expected a number, got {_describe(value)}")
        if not math.isfinite(value):
            raise BadValue(f"must be a finite number, got {value}")
        _check_range(value, minimum, maximum)
        return float(value)

    parse.__doc__ = f"number{_range_text(minimum, maximum)}"
    return parse


def _check_range(value: float, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and maximum is not None and not minimum <= value <= maximum:
        raise BadValue(f"must be from {minimum} to {maximum}, got {value}")
    if minimum is not None and value < minimum:
        raise BadValue(f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise BadValue(f"must be at most {maximum}, got {value}")


def _range_text(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f" from {minimum} to {maximum}"
    if minimum is not None:
        return f" ≥ {minimum}"
    if maximum is not None:
        return f" ≤ {maximum}"
    return ""


def choice(*options: str) -> Parser:
    def parse(value: Any) -> str:
        if value not in options:
            raise BadValue(f"must be one of {', '.join(options)}; got {value!r}")
        return value

    parse.__doc__ = "one of " + ", ".join(f"`{o}`" for o in options)
    return parse


def matching(pattern: str, what: str) -> Parser:
    """A string the whole of which matches ``pattern``; ``what`` describes it for messages and docs."""
    regex = re.compile(pattern)

    def parse(value: Any) -> str:
        if not isinstance(value, str) or not regex.fullmatch(value):
            raise BadValue(f"expected {what}, got {_describe(value)}")
        return value

    parse.__doc__ = what
    return parse


def list_of(item: Parser, *, unique: bool = True, min_items: int = 0) -> Parser:
    """A list whose every item parses with ``item``; by default without repeats."""
    def parse(value: Any) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple):
            raise BadValue(f"expected a list, got {_describe(value)}")
        items = []
        for index, element in enumerate(value):
            try:
                items.append(item(element))
            except BadValue as exc:
                raise BadValue(f"item {index}: {exc}") from None
        if unique and len(set(items)) != len(items):
            repeated = sorted({i for i in items if items.count(i) > 1})
            raise BadValue(f"duplicate entries: {', '.join(repeated)}")
        if len(items) < min_items:
            raise BadValue(f"needs at least {min_items} entr{'y' if min_items == 1 else 'ies'}")
        return tuple(items)

    parse.__doc__ = f"list of {item.__doc__}"
    return parse


def table(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise BadValue(f"expected a table, got {_describe(value)}")
    return dict(value)


def path(value: Any) -> Path:
    return Path(string(value))


def optional_path(value: Any) -> Path | None:
    return None if value in (None, "") else path(value)


_PHONE = re.compile(r"^\+?[0-9]{3,20}$")


def phone_number(value: Any) -> str | None:
    if value in (None, ""):
        return None
    text = string(value).replace(" ", "")
    if not _PHONE.match(text):
        raise BadValue(f"expected a phone number of digits with an optional leading +, got {value!r}")
    return text


def string_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadValue(f"expected a list of strings, got {_describe(value)}")
    return tuple(value)


def country_code(value: Any) -> str | None:
    if value in (None, ""):
        return None
    text = string(value)
    if not re.fullmatch(r"[A-Za-z]{2}", text):
        raise BadValue(f"expected an ISO 3166 alpha-2 country code such as \"KE\", got {value!r}")
    return text.upper()


string.__doc__ = "string"
optional_string.__doc__ = "string (optional)"
boolean.__doc__ = "boolean"
path.__doc__ = "path"
optional_path.__doc__ = "path (optional)"
phone_number.__doc__ = "phone number (optional)"
string_list.__doc__ = "list of strings"
country_code.__doc__ = "ISO 3166 alpha-2 code (optional)"
table.__doc__ = "table (written as TOML)"
