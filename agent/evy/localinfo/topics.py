"""Which local-information topics a message asks about, from the words in ``data/<lang>.toml``."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

from evy.errors import EvyError

TOPICS = ("shelter", "water", "food", "clinic", "roads")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


class LocalInfoError(EvyError):
    """Local information that cannot be kept as asked (an unknown topic, an empty text, a past expiry)."""


@dataclass(frozen=True)
class Pattern:
    words: tuple[str, ...]
    prefix: bool  # the last word matches any ending

    def found_in(self, tokens: list[str]) -> bool:
        n = len(self.words)
        for start in range(len(tokens) - n + 1):
            window = tokens[start:start + n]
            if window[:-1] != list(self.words[:-1]):
                continue
            last = window[-1]
            if last == self.words[-1] or (self.prefix and last.startswith(self.words[-1])):
                return True
        return False


@dataclass(frozen=True)
class Vocabulary:
    language: str
    updated: str  # with {ago}
    labels: dict[str, str]
    patterns: dict[str, tuple[Pattern, ...]]


def tokens(text: str) -> list[str]:
    """Lower case, accents dropped, split on anything that is not a letter or a digit."""
    folded = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    return [token for token in _NOT_WORD.split(folded) if token]


def _pattern(word: str) -> Pattern:
    prefix = word.endswith("*")
    return Pattern(tuple(tokens(word.rstrip("*"))), prefix)


@cache
def vocabularies() -> dict[str, Vocabulary]:
    found: dict[str, Vocabulary] = {}
    for entry in sorted(resources.files("evy.localinfo").joinpath("data").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        data = tomllib.loads(entry.read_text("utf-8"))
        topics = data.get("topics", {})
        if set(topics) != set(TOPICS):
            raise LocalInfoError(f"localinfo/data/{entry.name}: topics must be exactly {', '.join(TOPICS)}")
        found[data["language"]] = Vocabulary(
            data["language"], data["updated"], {name: topics[name]["label"] for name in TOPICS},
            {name: tuple(_pattern(word) for word in topics[name]["words"]) for name in TOPICS})
    return found


def vocabulary(language: str) -> Vocabulary:
    """The language's words and phrases; English for a language without a file."""
    return vocabularies().get(language) or vocabularies()["en"]


def matched_topics(text: str) -> list[str]:
    """The topics ``text`` asks about, in TOPICS order, whatever language its words are in."""
    words = tokens(text)
    return [topic for topic in TOPICS
            if any(pattern.found_in(words) for vocab in vocabularies().values() for pattern in vocab.patterns[topic])]
