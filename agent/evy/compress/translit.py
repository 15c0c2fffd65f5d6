"""Text to GSM-7 on purpose: one curly quote or emoji must not push a whole reply into UCS-2.

UCS-2 halves what an SMS carries (70 instead of 160 characters), so typographic characters become their
plain forms, accented letters outside GSM-7 lose the accent ("ã" -> "a", "é" stays: GSM-7 has it), emoji
and other symbols go, and a letter with no Latin form becomes "?".
"""

from __future__ import annotations

import re
import unicodedata

from evy.sms import gsm7

_PLAIN = {
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'", "´": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"', "‹": "'", "›": "'",
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-", "⁃": "-",
    "…": "...", "•": "-", "·": "-", "●": "-", "▪": "-", "◦": "-", "→": "->", "←": "<-", "⇒": "=>",
    "≥": ">=", "≤": "<=", "≈": "~", "×": "x", "÷": "/", "⁄": "/", "°": " deg ", "µ": "mc", "μ": "mc",
    "\t": " ", "\r": "", "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "", "\u200d": "",
    "\ufeff": "", "\ufe0f": "", "ç": "c", "œ": "oe", "Œ": "OE", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D",
    "ı": "i", "ð": "d", "þ": "th", "Þ": "TH", "¢": "c", "₹": "Rs", "₦": "N", "₵": "GHS",
}
_DEGREES = re.compile(r" deg ([CF])\b")
_SPACES = re.compile(r"[ ]{2,}")
_DROP_CATEGORIES = ("So", "Sk", "Sm", "Cs", "Co", "Cn", "Cf", "Mn", "Me", "Zl", "Zp", "Cc")


def _char(char: str) -> str:
    if gsm7.char_septets(char):
        return char
    plain = _PLAIN.get(char)
    if plain is not None:
        return plain
    category = unicodedata.category(char)
    if category == "Nd":
        return str(unicodedata.digit(char))  # "٣" -> "3": a dose or a phone number survives
    if category.startswith("Z"):
        return " "
    decomposed = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    if decomposed and gsm7.is_gsm7(decomposed):
        return decomposed
    if decomposed and all(gsm7.char_septets(c) or c in _PLAIN for c in decomposed):
        return "".join(_PLAIN.get(c, c) for c in decomposed)  # "½" -> "1⁄2" -> "1/2"
    if category in _DROP_CATEGORIES or category.startswith("S"):
        return ""  # emoji, pictographs, stray marks
    return "?"


def to_gsm7(text: str) -> str:
    """``text`` in characters GSM-7 carries; everything representable keeps its meaning."""
    if gsm7.is_gsm7(text):
        return text
    plain = "".join(_char(char) for char in text)
    plain = _DEGREES.sub(r"\1", plain)  # "37 °C" -> "37 C", "40°C" -> "40C"
    return _SPACES.sub(" ", plain)


def needs_ucs2(text: str) -> bool:
    """True when ``text`` is written in a script GSM-7 cannot carry (Cyrillic, Arabic, Devanagari...):
    a reply to such a sender may keep UCS-2. Emoji and typography alone never need it."""
    for char in text:
        if gsm7.char_septets(char) or not unicodedata.category(char).startswith("L"):
            continue
        if _char(char) == "?":
            return True
    return False
