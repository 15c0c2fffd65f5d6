"""The eval set: TOML messages with the facts a reply must contain and the advice it must not give.

Every problem is an :class:`EvalSetError` of one line naming the file, the message id and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evy.errors import read_text
from evy.evaluate.errors import EvalSetError
from evy.evaluate.folding import fold, fold_pattern
from evy.files import parse_toml
from evy.triage import CATEGORIES

LANGUAGES = ("en", "es", "fr", "pt")
NUMBER_TOKEN = "{number}"  # in a pattern: the configured emergency number
MAX_TEXT = 480  # three concatenated SMS: a message longer than that is not an SMS
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_KEYS = {"id", "lang", "category", "emergency", "text", "must", "must_not", "quick", "source"}


@dataclass(frozen=True)
class Case:
    id: str
    lang: str
    category: str
    emergency: bool  # the reply must name the configured emergency number
    text: str
    must: tuple[tuple[str, ...], ...]  # facts, each a tuple of alternative patterns (folded)
    must_not: tuple[str, ...] = ()
    quick: bool = False
    source: str = ""

    def facts(self, number: str) -> list[list[re.Pattern[str]]]:
        """The facts as compiled patterns, ``{number}`` replaced by the configured number."""
        return [[compiled(pattern, number) for pattern in fact] for fact in self.must]

    def forbidden(self, number: str) -> list[re.Pattern[str]]:
        return [compiled(pattern, number) for pattern in self.must_not]


@dataclass(frozen=True)
class EvalSet:
    cases: tuple[Case, ...]
    sources: tuple[str, ...] = ()
    path: Path | None = None

    def quick(self) -> tuple[Case, ...]:
        return tuple(case for case in self.cases if case.quick)

    def select(self, ids: list[str]) -> tuple[Case, ...]:
        by_id = {case.id: case for case in self.cases}
        unknown = [i for i in ids if i not in by_id]
        if unknown:
            raise EvalSetError(f"no message with id {', '.join(map(repr, unknown))} in the eval set")
        return tuple(by_id[i] for i in ids)


def load(path: Path | str) -> EvalSet:
    path = Path(path)
    return parse(read_text(path, "the eval set", EvalSetError), path)


def parse(text: str, path: Path | None = None) -> EvalSet:
    cases, sources = entries(text, path, "message", _case)
    return EvalSet(cases, sources, path)


def entries(text: str, path: Path | None, key: str, build: Any) -> tuple[tuple, tuple[str, ...]]:
    """The ``[[key]]`` entries of an eval file (each made by ``build(raw, where)``, ids unique) and its
    ``sources``; an EvalSetError naming the file and the entry for anything else."""
    where = f"{path}: " if path else ""
    table = parse_toml(text, str(path or ""), EvalSetError)
    unknown = sorted(set(table) - {"sources", key})
    if unknown:
        raise EvalSetError(f"{where}unknown top-level key {unknown[0]!r} (expected sources, [[{key}]])")
    raw_entries = table.get(key)
    if not isinstance(raw_entries, list) or not raw_entries:
        raise EvalSetError(f"{where}no [[{key}]] entries")
    sources = table.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise EvalSetError(f"{where}sources: expected a list of strings")
    found: list = []
    seen: set[str] = set()
    for position, raw in enumerate(raw_entries, 1):
        entry = build(raw, f"{where}{key} {position}")
        if entry.id in seen:
            raise EvalSetError(f"{where}{key} {entry.id!r}: id used twice")
        seen.add(entry.id)
        found.append(entry)
    return tuple(found), tuple(sources)


def _case(raw: Any, where: str) -> Case:
    if not isinstance(raw, dict):
        raise EvalSetError(f"{where}: expected a table")
    ident = raw.get("id")
    if not isinstance(ident, str) or not _ID.match(ident):
        raise EvalSetError(f"{where}: id: expected lower-case letters, digits and dashes, got {ident!r}")
    where = f"{where.rsplit('message ', 1)[0]}message {ident!r}"
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise EvalSetError(f"{where}: unknown key {unknown[0]!r}")
    for key in ("lang", "category", "emergency", "text", "must"):
        if key not in raw:
            raise EvalSetError(f"{where}: {key}: missing")
    if raw["lang"] not in LANGUAGES:
        raise EvalSetError(f"{where}: lang: expected one of {', '.join(LANGUAGES)}, got {raw['lang']!r}")
    if raw["category"] not in CATEGORIES:
        raise EvalSetError(f"{where}: category: expected one of {', '.join(CATEGORIES)}, got {raw['category']!r}")
    for key in ("emergency", "quick"):
        if not isinstance(raw.get(key, False), bool):
            raise EvalSetError(f"{where}: {key}: expected true or false, got {raw[key]!r}")
    text = raw["text"]
    if not isinstance(text, str) or not text.strip():
        raise EvalSetError(f"{where}: text: expected a non-empty string")
    if len(text) > MAX_TEXT:
        raise EvalSetError(f"{where}: text: {len(text)} characters, more than an SMS conversation ({MAX_TEXT})")
    must = raw["must"]
    if not isinstance(must, list) or not must:
        raise EvalSetError(f"{where}: must: expected a non-empty list of facts (lists of patterns)")
    facts = []
    for index, fact in enumerate(must):
        if isinstance(fact, str):
            fact = [fact]
        if not isinstance(fact, list) or not fact or not all(isinstance(p, str) and p for p in fact):
            raise EvalSetError(f"{where}: must[{index}]: expected a non-empty list of pattern strings")
        facts.append(tuple(checked(p, f"{where}: must[{index}]") for p in fact))
    must_not = raw.get("must_not", [])
    if not isinstance(must_not, list) or not all(isinstance(p, str) and p for p in must_not):
        raise EvalSetError(f"{where}: must_not: expected a list of pattern strings")
    echoed = [(index, p) for index, fact in enumerate(facts) for p in fact
              if compiled(p, "\x00").search(fold(text))]
    if echoed:
        index, pattern = echoed[0]
        raise EvalSetError(f"{where}: must[{index}]: pattern {pattern!r} matches the message itself, so a reply "
                           "that only repeats the question would pass")
    source = raw.get("source", "")
    if not isinstance(source, str):
        raise EvalSetError(f"{where}: source: expected a string")
    return Case(id=ident, lang=raw["lang"], category=raw["category"], emergency=raw["emergency"],
                text=text, must=tuple(facts),
                must_not=tuple(checked(p, f"{where}: must_not") for p in must_not),
                quick=raw.get("quick", False), source=source)


def checked(pattern: str, where: str) -> str:
    """The pattern folded like the replies it is matched against; a bad regular expression is an error."""
    folded = fold_pattern(pattern)
    try:
        compiled(folded, "112")
    except re.error as exc:
        raise EvalSetError(f"{where}: bad pattern {pattern!r}: {exc}") from None
    return folded


def compiled(pattern: str, number: str) -> re.Pattern[str]:
    return re.compile(pattern.replace(NUMBER_TOKEN, rf"(?<!\d){re.escape(number)}(?!\d)"), re.IGNORECASE)
