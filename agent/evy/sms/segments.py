"""How many SMS a text takes and where to cut it (3GPP TS 23.040 §9.2.3.24.1).

One SMS carries 140 octets of user data: 160 GSM-7 septets, 70 UCS-2 units or 140 octets of 8-bit data.
A concatenated part loses 6 octets to its UDH (7 with a 16-bit reference), leaving 153 septets / 67 units /
134 octets (152 / 66 / 133). Cuts fall between characters only, so a GSM-7 escape sequence and a UTF-16
surrogate pair always stay in one part; a combining mark (an accent typed after its letter) stays with its
letter too, as phones and Gammu keep it, so no part starts with a bare accent.
"""

from __future__ import annotations

import unicodedata

from evy.sms import gsm7, ucs2
from evy.sms.errors import CodecError
from evy.sms.message import Encoding

USER_DATA_OCTETS = 140
MAX_PARTS = 255


def choose_encoding(text: str) -> Encoding:
    """GSM-7 when every character fits it, else UCS-2; never a lossy substitution."""
    return Encoding.GSM7 if gsm7.is_gsm7(text) else Encoding.UCS2


def udh_length(ref_bits: int) -> int:
    """Octets of a concatenation UDH including its length octet: 6 (8-bit reference) or 7 (16-bit)."""
    if ref_bits not in (8, 16):
        raise CodecError(f"concatenation reference must be 8 or 16 bits, got {ref_bits}")
    return 6 if ref_bits == 8 else 7


def budget(encoding: Encoding, multipart: bool, ref_bits: int = 8) -> int:
    """Units (septets, UTF-16 units or octets) one part can hold."""
    octets = USER_DATA_OCTETS - (udh_length(ref_bits) if multipart else 0)
    if encoding is Encoding.GSM7:
        if not multipart:
            return octets * 8 // 7
        # The header is padded to a septet boundary, so it costs whole septets.
        header_septets = (udh_length(ref_bits) * 8 + 6) // 7
        return USER_DATA_OCTETS * 8 // 7 - header_septets
    if encoding is Encoding.UCS2:
        return octets // 2
    return octets


def char_units(char: str, encoding: Encoding) -> int:
    """Units one character takes in ``encoding``; raises `CodecError` if it cannot be carried."""
    if encoding is Encoding.GSM7:
        size = gsm7.char_septets(char)
        if not size:
            raise CodecError(f"text is not GSM-7: {char!r} (U+{ord(char):04X})")
        return size
    if encoding is Encoding.UCS2:
        return ucs2.unit_count(char)
    if ord(char) > 0xFF:
        raise CodecError(f"8-bit data carries only U+0000-U+00FF, got {char!r} (U+{ord(char):04X})")
    return 1


def units(text: str, encoding: Encoding) -> int:
    """Septets (escapes count 2), UTF-16 code units or octets that ``text`` takes in ``encoding``."""
    if encoding is Encoding.GSM7:
        return gsm7.septet_count(text)
    if encoding is Encoding.UCS2:
        return ucs2.unit_count(text)
    return sum(char_units(char, encoding) for char in text)


def split(text: str, encoding: Encoding | None = None, *, ref_bits: int = 8) -> list[str]:
    """Cut ``text`` into the parts it is sent as; one part (maybe empty) when it fits a single SMS."""
    parts = _cut(text, Encoding(encoding) if encoding is not None else choose_encoding(text), ref_bits)
    if len(parts) > MAX_PARTS:
        raise CodecError(f"text too long: {len(parts)} parts, a concatenated SMS has at most {MAX_PARTS}")
    return parts


def count(text: str) -> tuple[Encoding, int]:
    """The encoding ``text`` would be sent in and the number of parts (not capped at 255)."""
    encoding = choose_encoding(text)
    return encoding, len(_cut(text, encoding, 8))


def _cut(text: str, encoding: Encoding, ref_bits: int) -> list[str]:
    total = units(text, encoding)
    if total <= budget(encoding, multipart=False):
        return [text]
    limit = budget(encoding, multipart=True, ref_bits=ref_bits)
    if total == len(text) and not any(map(unicodedata.combining, text)):  # one unit each: plain slicing
        return [text[start:start + limit] for start in range(0, len(text), limit)]
    if encoding is Encoding.GSM7:
        sizes = list(map(gsm7.char_septets, text))
    else:
        sizes = [char_units(char, encoding) for char in text]
    parts: list[str] = []
    start = used = 0
    index = 0
    while index < len(text):
        if used + sizes[index] > limit:
            cut = index
            while cut > start + 1 and unicodedata.combining(text[cut]):
                cut -= 1  # back to the letter the marks belong to
            if unicodedata.combining(text[cut]):
                cut = index  # a part of nothing but marks: cut where the budget says
            parts.append(text[start:cut])
            start, used, index = cut, 0, cut
        used += sizes[index]
        index += 1
    parts.append(text[start:])
    return parts
