"""One row per setting: the type every part of the config machinery is derived from."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class BadValue(ValueError):
    """A value does not parse; the message says why (without the key, which the caller adds)."""


Parser = Callable[[Any], Any]


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
        if minimum is not None and value < minimum:
            raise BadValue(f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise BadValue(f"must be at most {maximum}, got {value}")
        return value

    parse.__doc__ = f"integer{_range_text(minimum, maximum)}"
    return parse


def number(minimum: float | None = None, maximum: float | None = None) -> Parser:
    def parse(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadValue(f"expected a number, got {_describe(value)}")
        if not math.isfinite(value):
            raise BadValue(f"must be a finite number, got {value}")
        if minimum is not None and value < minimum:
            raise BadValue(f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise BadValue(f"must be at most {maximum}, got {value}")
        return float(value)

    parse.__doc__ = f"number{_range_text(minimum, maximum)}"
    return parse


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
