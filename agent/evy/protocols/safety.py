"""The contraindication check: does a text tell someone to do what a protocol's ``must_not`` forbids?

Patterns are written for folded text: lower case, no accents, "n't" -> "nt" ("don't" -> "dont"), other
apostrophes -> a space ("l'eau" -> "l eau"). A text is checked one sentence at a time (sentences end at
``. ! ? ; :`` or a line break). A match is forgiven only when the sentence negates it: a negation cue of the
language ("do not", "never", "no") comes before it, no scope reset ("unless", "and", "then"...) comes
between that cue and the match's end, and the match does not start with a cue. So "No ice or butter" passes a
pattern for ice, while "Don't run a generator indoors unless the doors are open" fails a pattern for
"unless the doors are open", and a pattern that spells out a refusal ("nothing to drink") is never forgiven.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evy import folding
from evy.folding import APOSTROPHES

_CONTRACTION = re.compile(r"n['’]t\b")
_SENTENCE_END = re.compile(r"[.!?;:\n]+")
_SPACES = re.compile(r"[ \t]+")


def fold(text: str) -> str:
    """``text`` as must_not patterns are written for: "Don't put ÍCE" -> "dont put ice"."""
    text = APOSTROPHES.sub(" ", _CONTRACTION.sub("nt", text.lower()))
    return _SPACES.sub(" ", folding.fold(text))


def _words(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    if not phrases:
        return None
    alternatives = "|".join(re.escape(fold(phrase).strip()) for phrase in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})\b")


@dataclass(frozen=True)
class Negation:
    """A language's negation cues and the words that end their scope."""

    cues: re.Pattern[str] | None
    resets: re.Pattern[str] | None

    @classmethod
    def of(cls, cues: tuple[str, ...], resets: tuple[str, ...]) -> Negation:
        return cls(_words(cues), _words(resets))

    def forgives(self, sentence: str, start: int, end: int) -> bool:
        if self.cues is None or self.cues.match(sentence, start):
            return False  # the pattern spells out a refusal itself ("nothing to drink")
        # "No, pour water on it": a cue followed by a comma answers a question, it negates nothing.
        before = [cue for cue in self.cues.finditer(sentence, 0, start) if sentence[cue.end():cue.end() + 1] != ","]
        if not before:
            return False
        return self.resets is None or not self.resets.search(sentence, before[-1].end(), end)


def violations(text: str, patterns: tuple[re.Pattern[str], ...], negation: Negation) -> list[str]:
    """The patterns ``text`` breaks (each once), in the order given."""
    broken: list[str] = []
    sentences = [part.strip() for part in _SENTENCE_END.split(fold(text)) if part.strip()]
    for pattern in patterns:
        for sentence in sentences:
            if any(not negation.forgives(sentence, match.start(), match.end())
                   for match in pattern.finditer(sentence)):
                broken.append(pattern.pattern)
                break
    return broken


def alarming(text: str, words: tuple[re.Pattern[str], ...]) -> list[str]:
    """The discreet-rule patterns ``text`` contains, negated or not: a word alone can alarm an onlooker."""
    folded = fold(text)
    return [pattern.pattern for pattern in words if pattern.search(folded)]
