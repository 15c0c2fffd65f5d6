"""Text to the plain tokens the lexicon is written in: lower case, no accents, no punctuation."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_APOSTROPHES = re.compile(r"['’‘`´]")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_STRETCHED = re.compile(r"([a-z])\1{2,}")  # "helppp" -> "help", "sooos" -> "sos"
# Letters that NFKD does not decompose into a base letter plus an accent.
_SPECIAL = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "ł": "l", "đ": "d", "ı": "i"})


@lru_cache(maxsize=4096)
def fold(word: str) -> str:
    """Lower case without diacritics: "Ñandú" -> "nandu", "não" -> "nao"."""
    decomposed = unicodedata.normalize("NFKD", word.lower().translate(_SPECIAL))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def tokens(text: str) -> list[str]:
    """The words of ``text`` folded; apostrophes vanish ("can't" -> "cant"), stretched letters shrink."""
    folded = _STRETCHED.sub(r"\1", fold(_APOSTROPHES.sub("", text)))
    return _NOT_WORD.sub(" ", folded).split()
