"""Verified emergency protocols, one data file per language (``data/<language>.toml``).

Each protocol is an SMS-sized text with a ``{number}`` placeholder for the kit's emergency number and the
public guidance it follows (``source``). Keys are the router's topics (``cpr``, ``choking``...), its
categories (``fire``, ``flood``...) and ``general`` for a message that is neither.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from evy.protocols.errors import ProtocolError

NUMBER_FIELD = "{number}"
FALLBACK_LANGUAGE = "en"
GENERAL = "general"


@dataclass(frozen=True)
class Protocol:
    key: str
    language: str
    text: str  # the number already filled in
    source: str


@cache
def _library() -> dict[str, dict[str, dict[str, str]]]:
    """language -> key -> {"text", "source"}, every entry checked."""
    return _load()[0]


@cache
def _phrases() -> dict[str, dict[str, str]]:
    """language -> phrase name -> text with {number}."""
    return _load()[1]


@cache
def _load() -> tuple[dict[str, dict[str, dict[str, str]]], dict[str, dict[str, str]],
                     dict[str, tuple[str, ...]]]:
    folder = resources.files("evy.protocols").joinpath("data")
    library: dict[str, dict[str, dict[str, str]]] = {}
    phrases: dict[str, dict[str, str]] = {}
    generics: dict[str, tuple[str, ...]] = {}
    for item in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if not item.name.endswith(".toml") or item.name == "emergency_numbers.toml":
            continue
        where = f"protocols/data/{item.name}"
        try:
            data = tomllib.loads(item.read_text("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ProtocolError(f"{where}: not valid TOML: {exc}") from None
        language = item.name.removesuffix(".toml")
        if data.get("language") != language:
            raise ProtocolError(f"{where}: `language` must be {language!r}")
        entries = data.get("protocol", {})
        for key, entry in entries.items():
            text, source = entry.get("text"), entry.get("source")
            if not isinstance(text, str) or NUMBER_FIELD not in text:
                raise ProtocolError(f"{where}: protocol.{key}: text must name the number as {NUMBER_FIELD}")
            if not isinstance(source, str) or not source.strip():
                raise ProtocolError(f"{where}: protocol.{key}: source is required")
        library[language] = entries
        phrases[language] = dict(data.get("phrase", {}))
        generic = phrases[language].pop("generic_number", [])
        if not isinstance(generic, list) or not all(isinstance(words, str) for words in generic):
            raise ProtocolError(f"{where}: phrase.generic_number must be a list of strings")
        generics[language] = tuple(generic)
        for name, text in phrases[language].items():
            if not isinstance(text, str) or NUMBER_FIELD not in text:
                raise ProtocolError(f"{where}: phrase.{name} must name the number as {NUMBER_FIELD}")
    if FALLBACK_LANGUAGE not in library:
        raise ProtocolError(f"protocols/data: {FALLBACK_LANGUAGE}.toml is missing")
    return library, phrases, generics


def name_the_number(text: str, language: str, number: str) -> str:
    """``text`` with "the emergency number" (in ``language``) replaced by the number itself."""
    for words in _load()[2].get(language, ()):
        text = re.sub(re.escape(words), number, text, flags=re.IGNORECASE)
    return text


def phrase(name: str, language: str, number: str) -> str:
    """A short phrase (``call``: "Emergency: call 112.") in ``language``, else in English."""
    for candidate in (language, FALLBACK_LANGUAGE):
        text = _phrases().get(candidate, {}).get(name)
        if text is not None:
            return text.replace(NUMBER_FIELD, number)
    raise ProtocolError(f"no phrase {name!r} in {language!r} or {FALLBACK_LANGUAGE!r}")


def languages() -> tuple[str, ...]:
    return tuple(sorted(_library()))


def keys(language: str = FALLBACK_LANGUAGE) -> tuple[str, ...]:
    return tuple(sorted(_library().get(language, {})))


def lookup(key: str | None, language: str, number: str) -> Protocol:
    """The protocol ``key`` in ``language`` (English if that language lacks it), naming ``number``.

    ``key`` None gives the general help text. An unknown key is an error: the router and the library
    must agree on names, and a test checks that they do.
    """
    if not number:
        raise ProtocolError("no emergency number to put in the protocol")
    key = key or GENERAL
    library = _library()
    for candidate in (language, FALLBACK_LANGUAGE):
        entry = library.get(candidate, {}).get(key)
        if entry is not None:
            return Protocol(key, candidate, entry["text"].replace(NUMBER_FIELD, number), entry["source"])
    raise ProtocolError(f"no protocol {key!r} in {language!r} or {FALLBACK_LANGUAGE!r}")


def for_triage(topic: str | None, category: str | None, language: str, number: str) -> Protocol:
    """The most specific protocol for a triage: its topic, else its category, else the general text."""
    for key in (topic, category):
        if key and any(key in entries for entries in _library().values()):
            return lookup(key, language, number)
    return lookup(GENERAL, language, number)
