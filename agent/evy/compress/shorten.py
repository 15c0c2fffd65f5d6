"""Filler removal and abbreviations from ``data/shorten.toml``, per language."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from evy.compress.errors import CompressError
from evy.compress.translit import to_gsm7
from evy.triage.normalize import fold

# A key written without accents also matches the accented text ("E importante" matches "É importante").
_VARIANTS = {"a": "aàáâãäå", "e": "eèéêë", "i": "iìíîï", "o": "oòóôõöø", "u": "uùúûü", "c": "cç", "n": "nñ"}


@dataclass(frozen=True)
class Rules:
    pattern: re.Pattern[str]
    replacements: dict[str, str]  # folded key -> replacement


def _char_pattern(char: str) -> str:
    variants = _VARIANTS.get(char.lower())
    if variants:
        return "[" + variants + variants.upper() + "]"
    return " +" if char == " " else re.escape(char)


def _compile(table: dict[str, str], where: str) -> Rules | None:
    if not table:
        return None
    replacements: dict[str, str] = {}
    alternatives = []
    for key in sorted(table, key=len, reverse=True):  # longest first: "you should not" before "you should"
        value = table[key]
        if not isinstance(value, str):
            raise CompressError(f"compress/data/shorten.toml: {where}.{key}: expected a string")
        plain = to_gsm7(key)
        replacements[fold(plain)] = to_gsm7(value)
        body = "".join(_char_pattern(char) for char in plain)
        start = r"\b" if plain[0].isalnum() else ""
        end = r"\b" if plain[-1].isalnum() else ""
        alternatives.append(start + body + end)
    return Rules(re.compile("|".join(alternatives), re.IGNORECASE), replacements)


@cache
def rules(language: str, kind: str) -> tuple[Rules, ...]:
    """The compiled ``kind`` ("filler" or "abbrev") rules for ``language``, the shared ones first."""
    data = _data()
    found = []
    for scope in ("all", language):
        compiled = _compile(data.get(scope, {}).get(kind, {}), f"{scope}.{kind}")
        if compiled:
            found.append(compiled)
    return tuple(found)


@cache
def _data() -> dict:
    text = resources.files("evy.compress").joinpath("data/shorten.toml").read_text("utf-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CompressError(f"compress/data/shorten.toml: not valid TOML: {exc}") from None


def apply(text: str, language: str, kind: str) -> str:
    for compiled in rules(language, kind):
        text = compiled.pattern.sub(lambda match, c=compiled: _replace(match, c), text)
    return text


def _replace(match: re.Match[str], compiled: Rules) -> str:
    found = match.group(0)
    replacement = compiled.replacements.get(fold(re.sub(" +", " ", found)), "")
    if replacement and found[0].isupper() and replacement[0].islower():
        replacement = replacement[0].upper() + replacement[1:]
    return replacement
