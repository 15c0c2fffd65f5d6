"""A reply cut into direct messages that fit Meshtastic's payload, numbered like SMS parts.

Each part is ``(i/n) `` and a piece of the text, at most ``limit`` UTF-8 bytes in all. Pieces end at a word
boundary where one is close enough, never inside a character, and joined in order they give the text back
exactly. A text that fits is sent as it is, without a number.
"""

from __future__ import annotations

import re

_NUMBER = re.compile(r"^\((\d+)/(\d+)\) ")

MIN_LIMIT = 24  # room for "(99/99) " and a few characters


def split_text(text: str, limit: int) -> list[str]:
    if limit < MIN_LIMIT:
        raise ValueError(f"a part must hold at least {MIN_LIMIT} bytes, got {limit}")
    if len(text.encode("utf-8")) <= limit:
        return [text]
    # The prefix length depends on the number of parts: grow the assumed width until the split agrees.
    for width in range(1, 6):
        pieces = _pieces(text, limit - len(f"({'9' * width}/{'9' * width}) "))
        if len(str(len(pieces))) <= width:
            total = len(pieces)
            return [f"({i}/{total}) {piece}" for i, piece in enumerate(pieces, 1)]
    raise ValueError("text too long to split")


def _pieces(text: str, room: int) -> list[str]:
    pieces = []
    rest = text
    while rest:
        cut = _fit(rest, room)
        space = rest.rfind(" ", 0, cut)
        if cut < len(rest) and space >= cut * 2 // 3:  # a word boundary not too far back
            cut = space + 1
        pieces.append(rest[:cut])
        rest = rest[cut:]
    return pieces


def _fit(text: str, room: int) -> int:
    """How many characters of ``text`` fit in ``room`` UTF-8 bytes (at least one)."""
    used = 0
    for index, char in enumerate(text):
        used += len(char.encode("utf-8"))
        if used > room:
            return max(index, 1)
    return len(text)


def join_parts(parts: list[str]) -> str:
    """The text a reader sees once every numbered part is in (parts in any order; an unnumbered one alone)."""
    if len(parts) == 1 and not _NUMBER.match(parts[0]):
        return parts[0]
    numbered = []
    for part in parts:
        match = _NUMBER.match(part)
        if match is None:
            raise ValueError(f"part without a number among several: {part[:20]!r}")
        numbered.append((int(match.group(1)), part[match.end():]))
    return "".join(piece for _, piece in sorted(numbered))
