"""GSM 7-bit default alphabet (3GPP TS 23.038 §6.2.1) and septet packing (§6.1.2.1).

Text maps to septets through the basic table; the characters of the extension table take two septets,
the escape 0x1B and the extension code. Nothing is transliterated here: a character outside both tables is
an error (`non_gsm7_chars` names them), so the caller can choose UCS-2 instead of losing it.
"""

from __future__ import annotations

from evy.sms import national
from evy.sms.errors import CodecError

ESCAPE = 0x1B

# Index = septet value. 0x1B is the escape to the extension table; it never stands for a character.
BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(BASIC_TABLE) == 128

EXTENSION_TABLE = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

# Each character's septets: one from the basic table, or the escape and an extension code.
_SEPTETS: dict[str, tuple[int, ...]] = {char: (code,) for code, char in enumerate(BASIC_TABLE) if code != ESCAPE}
_SEPTETS |= {char: (ESCAPE, code) for code, char in EXTENSION_TABLE.items()}
_CHARSET = frozenset(_SEPTETS)
_EXTENSION_CHARS = tuple(EXTENSION_TABLE.values())


def is_gsm7(text: str) -> bool:
    return _CHARSET.issuperset(text)


def non_gsm7_chars(text: str) -> list[str]:
    """The distinct characters of ``text`` that GSM-7 cannot carry, in order of first appearance."""
    return list(dict.fromkeys(char for char in text if char not in _CHARSET))


def char_septets(char: str) -> int:
    """Septets one character takes: 1 (basic table), 2 (extension table) or 0 (not GSM-7)."""
    return len(_SEPTETS.get(char, ()))


def septet_count(text: str) -> int:
    """Septets ``text`` takes in GSM-7, escape sequences counted as 2; raises `CodecError` if not GSM-7."""
    if not is_gsm7(text):
        raise _not_gsm7(text)
    return len(text) + sum(map(text.count, _EXTENSION_CHARS))


def encode(text: str) -> list[int]:
    septets: list[int] = []
    try:
        for char in text:
            septets += _SEPTETS[char]
    except KeyError:
        raise _not_gsm7(text) from None
    return septets


def decode(septets: list[int] | bytes, *, locking: int = 0, single: int = 0) -> str:
    """Septets to text. ``locking`` / ``single`` are national language identifiers from the UDH (0: the
    default tables; unknown ones fall back to it). An escape before a code the extension table lacks reads
    as the basic character (TS 23.038 §6.2.1.1); a trailing or doubled escape reads as a space."""
    basic = national.LOCKING_TABLES.get(locking, BASIC_TABLE)
    extension = national.SINGLE_SHIFT_TABLES.get(single, EXTENSION_TABLE)
    chars: list[str] = []
    escaped = False
    for septet in septets:
        if not 0 <= septet < 128:
            raise CodecError(f"septet value {septet} is out of range 0-127")
        if escaped:
            escaped = False
            if septet == ESCAPE:
                chars.append(" ")
            else:
                chars.append(extension.get(septet) or basic[septet])
        elif septet == ESCAPE:
            escaped = True
        else:
            chars.append(basic[septet])
    if escaped:
        chars.append(" ")
    return "".join(chars)


def packed_length(count: int, fill_bits: int = 0) -> int:
    """Octets that ``count`` septets take when packed after ``fill_bits`` padding bits."""
    return (fill_bits + 7 * count + 7) // 8


def pack(septets: list[int], fill_bits: int = 0) -> bytes:
    """Pack septets LSB first into octets, after ``fill_bits`` zero bits (the padding after a UDH)."""
    if not 0 <= fill_bits <= 6:
        raise CodecError(f"fill bits must be 0-6, got {fill_bits}")
    value = 0
    shift = fill_bits
    for septet in septets:
        if not 0 <= septet < 128:
            raise CodecError(f"septet value {septet} is out of range 0-127")
        value |= septet << shift
        shift += 7
    return value.to_bytes(packed_length(len(septets), fill_bits), "little")


def unpack(data: bytes, count: int, fill_bits: int = 0) -> list[int]:
    """The ``count`` septets packed in ``data`` after ``fill_bits`` padding bits."""
    if not 0 <= fill_bits <= 6:
        raise CodecError(f"fill bits must be 0-6, got {fill_bits}")
    if count < 0:
        raise CodecError(f"septet count must not be negative, got {count}")
    needed = packed_length(count, fill_bits)
    if len(data) < needed:
        raise CodecError(f"GSM-7 data truncated: {count} septets need {needed} octets, {len(data)} left")
    value = int.from_bytes(data[:needed], "little") >> fill_bits
    return [(value >> (7 * index)) & 0x7F for index in range(count)]


def _not_gsm7(text: str) -> CodecError:
    shown = ", ".join(f"{char!r} (U+{ord(char):04X})" for char in non_gsm7_chars(text)[:5])
    return CodecError(f"text is not GSM-7: {shown}")
