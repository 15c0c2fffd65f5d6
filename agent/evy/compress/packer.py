"""Sentence-priority packing: keep the units that matter most, in their original order, within a budget.

A unit is a numbered step ("1." "2)" "Step 3:"), a bullet, or a sentence. Units are kept or dropped
whole, so a step is never cut and a word never split; only when not even the single most important unit
fits is it cut, at a word boundary, with ".." to show it was cut.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import pairwise

STEP = re.compile(r"(?:(?<=\s)|^)(?:step\s*)?\d{1,2}[.)]\s|(?:(?<=\s)|^)[-*]\s", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")
_NUMBER = re.compile(r"\d")
_WARNING = re.compile(r"\b(?:not|never|don't|no|avoid|nunca|jamais|ne|pas|nao|não)\b", re.IGNORECASE)
_CUT_MARK = ".."


def units(text: str) -> list[str]:
    """``text`` cut into steps, bullets and sentences; joining them with spaces gives the text back."""
    pieces: list[str] = []
    starts = [match.start() for match in STEP.finditer(text)]
    bounds = [0, *[s for s in starts if s > 0], len(text)]
    for begin, end in pairwise(bounds):
        chunk = text[begin:end].strip()
        if not chunk:
            continue
        if STEP.match(chunk):
            pieces.append(chunk)  # a step stays whole, however many sentences it has
        else:
            pieces.extend(part for part in _SENTENCE_END.split(chunk) if part)
    return pieces


def importance(unit: str, index: int, keep: tuple[str, ...] = ()) -> int:
    """5: units holding a ``keep`` string (the emergency number); 4: numbered steps; 3: anything with a
    number (phone, dose, time); 2: the lead sentence and warnings ("do not..."); 1: the rest."""
    if any(needle in unit for needle in keep):
        return 5
    if STEP.match(unit):
        return 4
    if _NUMBER.search(unit):
        return 3
    return 2 if index == 0 or _WARNING.search(unit) else 1


def pack(pieces: list[str], fits: Callable[[str], bool], join: Callable[[list[str]], str],
         keep: tuple[str, ...] = ()) -> tuple[str, int]:
    """The most important pieces that fit together, in order; and how many were dropped."""
    order = sorted(range(len(pieces)), key=lambda i: (-importance(pieces[i], i, keep), i))
    chosen: set[int] = set()
    for index in order:
        trial = chosen | {index}
        if fits(join([pieces[i] for i in sorted(trial)])):
            chosen = trial
    if not chosen and pieces:
        return cut_at_word(pieces[order[0]], fits), len(pieces)
    return join([pieces[i] for i in sorted(chosen)]), len(pieces) - len(chosen)


def cut_at_word(text: str, fits: Callable[[str], bool]) -> str:
    """The longest word-boundary prefix of ``text`` that fits with the cut mark."""
    words = text.split(" ")
    low, high = 0, len(words)  # binary search on the number of whole words kept
    while low < high:
        middle = (low + high + 1) // 2
        if fits(" ".join(words[:middle]).rstrip(",;:") + _CUT_MARK):
            low = middle
        else:
            high = middle - 1
    return (" ".join(words[:low]).rstrip(",;:") + _CUT_MARK) if low else ""
