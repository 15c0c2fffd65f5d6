"""Text folded for matching: lower case, without accents, the letters NFKD leaves alone spelled plainly.

One folding for every matcher (triage's lexicon, the protocols' contraindication patterns, the eval set), so a
word written one way in the data matches it written another way in a message ("Ñandú", "nandu"). What each
matcher does with apostrophes and contractions on top of this is its own rule and stays beside it.
"""

from __future__ import annotations

import re
import unicodedata

APOSTROPHES = re.compile(r"['’‘`´]")
# Letters that NFKD does not decompose into a base letter plus an accent.
_SPECIAL = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE", "ł": "l",
                          "Ł": "L", "đ": "d", "Đ": "D", "ı": "i"})


def strip_accents(text: str) -> str:
    """``text`` without diacritics, its case kept: "Ñandú" -> "Nandu", "Straße" -> "Strasse"."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def fold(text: str) -> str:
    """Lower case without diacritics: "Ñandú" -> "nandu", "NÃO" -> "nao". Folding twice changes nothing."""
    for _ in range(3):  # lower() and NFKD can each undo the other once ("𝕬" -> "A" -> "a")
        folded = strip_accents(text.lower())
        if folded == text:
            break
        text = folded
    return text
