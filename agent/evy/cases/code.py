"""Short case codes ("K7Q3") a person can read out to a rescuer over a bad line.

The code is a bijection of the case's row id, so it is unique without a lookup table, and it skips the
letters people confuse (0/O, 1/I/L, U/V), so a code read aloud or retyped still finds its case.
"""

from __future__ import annotations

ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"  # no 0 1 I L O U V
CODE_LENGTH = 4
MAX_CODE_LENGTH = 8
_SPACE = len(ALPHABET) ** CODE_LENGTH
_STRIDE = 7919  # coprime with the size of the code space: consecutive ids give unrelated-looking codes
_CONFUSABLE = str.maketrans({"0": "Q", "O": "Q", "1": "J", "I": "J", "L": "J", "U": "W", "V": "W"})


def case_code(case_id: int) -> str:
    """The code of case ``case_id`` (≥ 1): four characters, more once ids pass the four-character space."""
    if case_id < 1:
        raise ValueError(f"case ids start at 1, not {case_id}")
    block, index = divmod(case_id, _SPACE)
    value = (index * _STRIDE + block) % _SPACE + block * _SPACE
    chars = []
    while value or len(chars) < CODE_LENGTH:
        value, digit = divmod(value, len(ALPHABET))
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars))


def case_id(code: str) -> int | None:
    """The case id a (possibly retyped) code names, or None if it is not a code."""
    cleaned = code.strip().upper().replace("-", "").replace(" ", "")
    cleaned = cleaned.lstrip("#").translate(_CONFUSABLE)
    if not CODE_LENGTH <= len(cleaned) <= MAX_CODE_LENGTH or any(char not in ALPHABET for char in cleaned):
        return None
    value = 0
    for char in cleaned:
        value = value * len(ALPHABET) + ALPHABET.index(char)
    block, scrambled = divmod(value, _SPACE)
    index = ((scrambled - block) * pow(_STRIDE, -1, _SPACE)) % _SPACE
    found = block * _SPACE + index
    return found if found >= 1 and case_code(found) == cleaned else None
