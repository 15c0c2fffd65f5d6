"""Text to the plain tokens the lexicon is written in: lower case, no accents, no punctuation."""

from __future__ import annotations

import re
from functools import lru_cache

from evy import folding

_NOT_WORD = re.compile(r"[^a-z0-9]+")
_STRETCHED = re.compile(r"([a-z])\1{2,}")  # "helppp" -> "help", "sooos" -> "sos"
# Cached: triage and the case dialogue fold the same few thousand words over and over.
fold = lru_cache(maxsize=4096)(folding.fold)


def tokens(text: str) -> list[str]:
    """The words of ``text`` folded; apostrophes vanish ("can't" -> "cant"), stretched letters shrink."""
    folded = _STRETCHED.sub(r"\1", fold(folding.APOSTROPHES.sub("", text)))
    return _NOT_WORD.sub(" ", folded).split()
