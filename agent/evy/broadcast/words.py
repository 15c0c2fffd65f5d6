"""The JOIN and LEAVE words and their confirmations, one data file per language (``data/<lang>.toml``)."""

from __future__ import annotations

import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

from evy.errors import EvyError


class WordsError(EvyError):
    """A broadcast words file is wrong (a word twice, a missing reply)."""


@dataclass(frozen=True)
class Language:
    code: str
    join: tuple[str, ...]
    leave: tuple[str, ...]
    joined: str  # with {number}
    left: str


def fold(text: str) -> str:
    """A command word as it is compared: accents and punctuation around it gone, upper case, ASCII."""
    stripped = text.strip().strip(".!?¡¿")
    return unicodedata.normalize("NFKD", stripped).encode("ascii", "ignore").decode().upper()


@cache
def languages() -> dict[str, Language]:
    found: dict[str, Language] = {}
    for entry in sorted(resources.files("evy.broadcast").joinpath("data").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        data = tomllib.loads(entry.read_text("utf-8"))
        try:
            found[data["language"]] = Language(data["language"], tuple(fold(w) for w in data["join"]),
                                               tuple(fold(w) for w in data["leave"]), data["joined"], data["left"])
        except KeyError as exc:
            raise WordsError(f"broadcast/data/{entry.name}: missing {exc}") from None
    return found


@cache
def lookup() -> dict[str, tuple[str, str]]:
    """Folded word -> ("join" | "leave", language). A word in two places is an error, not a guess."""
    table: dict[str, tuple[str, str]] = {}
    for language in languages().values():
        for action, words in (("join", language.join), ("leave", language.leave)):
            for word in words:
                if word in table and table[word] != (action, language.code):
                    raise WordsError(f"broadcast word {word!r} is both {table[word]} and {(action, language.code)}")
                table.setdefault(word, (action, language.code))
    return table


def confirmation(action: str, language: str, number: str) -> str:
    """The reply to a JOIN ("join") or LEAVE ("leave"), in ``language`` (English when it has none)."""
    words = languages().get(language) or languages()["en"]
    return (words.joined if action == "join" else words.left).format(number=number)
