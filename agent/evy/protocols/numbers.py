"""National emergency numbers, read from data/emergency_numbers.toml.

A kit never invents a number: a configured country without an entry is a config error, and with no
country at all the GSM-standard 112 (routed to emergency services by every GSM network) is used.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from evy.errors import ConfigError

DEFAULT_NUMBER = "112"


@cache
def table() -> dict[str, dict[str, str]]:
    text = resources.files("evy.protocols").joinpath("data/emergency_numbers.toml").read_text("utf-8")
    return tomllib.loads(text)["country"]


def emergency_number(country: str | None) -> str:
    """The general emergency number for an ISO 3166 alpha-2 country; 112 when no country is set."""
    if country is None:
        return DEFAULT_NUMBER
    entry = table().get(country.upper())
    if entry is None:
        raise ConfigError(
            f"country: no verified emergency number for {country!r}; set emergency_number explicitly"
        )
    return entry["emergency"]
