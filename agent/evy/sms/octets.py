"""Bounds-checked reading of PDU octets: every short read is a one-line `CodecError`, never an IndexError."""

from __future__ import annotations

import re

from evy.sms.errors import CodecError

_HEX_JUNK = re.compile(r"\s+")


def from_hex(hex_text: str) -> bytes:
    """PDU hex (either case, whitespace ignored) to bytes."""
    if not isinstance(hex_text, str):
        raise CodecError(f"PDU must be hex text, got {type(hex_text).__name__}")
    digits = _HEX_JUNK.sub("", hex_text)
    if not digits:
        raise CodecError("PDU is empty")
    if len(digits) % 2:
        raise CodecError(f"PDU hex has an odd number of digits ({len(digits)})")
    try:
        return bytes.fromhex(digits)
    except ValueError:
        bad = next(char for char in digits if char not in "0123456789abcdefABCDEF")
        raise CodecError(f"PDU is not hex: unexpected character {bad!r}") from None


class Reader:
    """A cursor over PDU bytes; ``field`` names what is being read, for the error message."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def octet(self, field: str) -> int:
        if self.pos >= len(self.data):
            raise CodecError(f"PDU truncated: {field} missing")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def take(self, count: int, field: str) -> bytes:
        if count > self.remaining:
            raise CodecError(f"PDU truncated: {field} needs {count} octets, {self.remaining} left")
        chunk = self.data[self.pos:self.pos + count]
        self.pos += count
        return chunk

    def rest(self) -> bytes:
        chunk = self.data[self.pos:]
        self.pos = len(self.data)
        return chunk
