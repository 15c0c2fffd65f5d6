"""Which language a message is written in, from its letters: a naive Bayes model over character trigrams of
the labelled SMS (``data/learned/language.json``, written by ``python -m evy.triage.learn``).

The lexicon's marker words tell a language only when the message happens to use one ("sigue la alerta de
tsunami en la costa" has none, and was answered in Portuguese); letter patterns carry every message, typos,
shorthand and languages with no lexicon (Vietnamese, Bengali) included. When the model is unsure (a short
"sos 112"), the caller keeps the markers' reading.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from evy.triage.errors import LexiconError
from evy.triage.normalize import fold

LANGUAGE_FILE = "language.json"
FORMAT = 1
GRAM = 3
SURE_MARGIN = 4.0  # log-odds between the best and the second language below which the markers decide


@dataclass(frozen=True)
class LanguageModel:
    languages: tuple[str, ...]
    unseen: tuple[float, ...]  # log-probability of a trigram a language never showed
    # trigram -> ((language index, log-probability minus that language's unseen), ...)
    grams: dict[str, tuple[tuple[int, float], ...]]
    digest: str  # of the examples it was learnt from (as the triage model's)

    def identify(self, text: str) -> tuple[str, float] | None:
        """The likeliest language and its margin over the next (natural log), or None for a text with no
        letters to go by."""
        found = trigrams(text)
        if not found or len(self.languages) < 2:
            return None
        scores = [unseen * len(found) for unseen in self.unseen]
        grams = self.grams
        for gram in found:
            for index, delta in grams.get(gram, ()):
                scores[index] += delta
        ranked = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)
        return self.languages[ranked[0]], scores[ranked[0]] - scores[ranked[1]]


def trigrams(text: str) -> list[str]:
    padded = f" {' '.join(fold(text).split())} "
    return [padded[start:start + GRAM] for start in range(len(padded) - GRAM + 1)] if padded.strip() else []


def parse(text: str) -> LanguageModel:
    try:
        data = json.loads(text)
        if data["format"] != FORMAT:
            raise LexiconError(f"triage/data/learned/{LANGUAGE_FILE}: format {data['format']}, expected {FORMAT}")
        languages = tuple(map(str, data["languages"]))
        unseen = tuple(map(float, data["unseen"]))
        if len(unseen) != len(languages):
            raise ValueError("one unseen log-probability per language")
        grams = {gram: tuple((int(row[i]), float(row[i + 1])) for i in range(0, len(row), 2))
                 for gram, row in data["grams"].items()}
        if any(index >= len(languages) for row in grams.values() for index, _ in row):
            raise ValueError("a trigram names a language the model does not have")
        return LanguageModel(languages, unseen, grams, str(data["digest"]))
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise LexiconError(f"triage/data/learned/{LANGUAGE_FILE}: not a language model: {exc}") from None


@cache
def default_language_model() -> LanguageModel | None:
    """The shipped model, or None when there is none (the lexicon's markers then decide alone)."""
    path = resources.files("evy.triage").joinpath("data", "learned", LANGUAGE_FILE)
    if not path.is_file():
        return None
    return parse(path.read_text("utf-8"))
