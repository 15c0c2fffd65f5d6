"""Text folded for matching: lower case, no accents, apostrophes as spaces, contractions spelled out.

Replies arrive transliterated to GSM-7 (which keeps a few accented letters) or as a model wrote them; the
eval set's patterns are written plain, so both sides are folded the same way before matching.
"""

from __future__ import annotations

import re

from evy import folding
from evy.folding import APOSTROPHES

_CONTRACTIONS = [
    (re.compile(r"n[’'`´]t\b"), " not"),  # don't -> do not, can't -> ca not (the "not" is what matters)
    (re.compile(r"\bw/o\b"), "without"),  # the compressor's abbreviation
    (re.compile(r"\bw/"), "with "),
]
_SPACES = re.compile(r"[ \t]+")


def fold(text: str) -> str:
    text = folding.fold(text)
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return _SPACES.sub(" ", APOSTROPHES.sub(" ", text))


def fold_pattern(pattern: str) -> str:
    """A pattern written with accents or apostrophes made to match folded text; its case is left alone
    (``\\S`` is not ``\\s``): patterns are matched case-insensitively."""
    return APOSTROPHES.sub(" ", folding.strip_accents(pattern))
