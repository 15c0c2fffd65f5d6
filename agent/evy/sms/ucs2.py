"""UCS-2 user data, read as UTF-16-BE so characters beyond U+FFFF travel as surrogate pairs."""

from __future__ import annotations

from evy.sms.errors import CodecError


def encode(text: str) -> bytes:
    try:
        return text.encode("utf-16-be")
    except UnicodeEncodeError as exc:
        raise _unpaired(text, exc) from None


def decode(data: bytes) -> str:
    """UTF-16-BE to text. A lone surrogate or a dangling odd octet (a broken sender) becomes U+FFFD
    rather than failing the whole message."""
    return data.decode("utf-16-be", errors="replace")


def unit_count(text: str) -> int:
    """UTF-16 code units: 2 for each character beyond U+FFFF."""
    try:
        return len(text.encode("utf-16-le")) // 2
    except UnicodeEncodeError as exc:
        raise _unpaired(text, exc) from None


def _unpaired(text: str, exc: UnicodeEncodeError) -> CodecError:
    """A str can hold a lone surrogate (e.g. from surrogateescape); UTF-16 cannot carry it."""
    return CodecError(f"text has an unpaired surrogate U+{ord(text[exc.start]):04X} at index {exc.start}")
