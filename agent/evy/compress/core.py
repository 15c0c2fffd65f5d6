"""compress(): a reply into its SMS budget, in GSM-7 unless the sender's script needs UCS-2."""

from __future__ import annotations

import re
from dataclasses import dataclass

from evy.compress import packer, shorten
from evy.compress.errors import CompressError
from evy.compress.translit import needs_ucs2, to_gsm7
from evy.messages import Reply
from evy.sms import gsm7, segments
from evy.sms.message import Encoding

MAX_BUDGET = 10
_BRACKETS = str.maketrans({"[": "(", "]": ")", "{": "(", "}": ")"})  # 2 septets each -> 1
_SPACE_RUNS = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\s*\n\s*")
_SPACE_BEFORE_PUNCT = re.compile(r" +([,.;:!?])")
_EMPTY_PUNCT = re.compile(r"(^|[.!?:])(\s+)[,;:.!?]+(?=\s|$)|^[,;:.!?]+ *", re.MULTILINE)  # a filler's leftovers
_LOWER_START = re.compile(r"(^|(?<!\.)[.!?]\s+|\n)([a-zà-ÿ])")  # not after an ellipsis
_ARTICLES = re.compile(r"\b(?:the|a|an) (?=[a-z])", re.IGNORECASE)


@dataclass(frozen=True)
class Compressed:
    text: str
    encoding: Encoding
    segments: int
    chars_saved: int
    segments_saved: int  # against sending the original text as it was
    dropped: int = 0  # sentences or steps left out to fit the budget


def compress(text: str, *, max_segments: int = 3, keep_ucs2: bool = False,
             language: str | None = None, keep: tuple[str, ...] = ()) -> Compressed:
    """Shorten ``text`` to at most ``max_segments`` SMS.

    ``keep_ucs2`` (the sender wrote in a script GSM-7 lacks) lets a reply that itself needs that script stay
    in UCS-2; everything else is transliterated to GSM-7, which carries twice as much per SMS.

    Fillers always go. Then levels are tried in order until one reaches the fewest segments any level
    can: as is; with abbreviations; without articles (English only: the others need theirs).
    If even that is over budget, whole sentences are dropped, least important first; a sentence holding
    one of the ``keep`` strings (the emergency number) goes last.
    """
    if not isinstance(max_segments, int) or not 1 <= max_segments <= MAX_BUDGET:
        raise CompressError(f"max_segments must be 1-{MAX_BUDGET}, got {max_segments!r}")
    _, naive = segments.count(text)
    if language is None:
        from evy.triage import triage

        language = triage(text[:400]).language

    # keep_ucs2 allows UCS-2, it does not ask for it: a reply in Latin script still goes out as GSM-7.
    base = text if keep_ucs2 and needs_ucs2(text) else to_gsm7(text)
    levels = [_tidy(shorten.apply(_tidy(base), language, "filler"))]  # fillers go whatever the budget
    levels.append(_tidy(shorten.apply(levels[0], language, "abbrev")))
    if language == "en":
        levels.append(_tidy(_ARTICLES.sub("", levels[1])))

    counts = [segments.count(level)[1] for level in levels]
    best = min(counts)
    if best <= max_segments:
        chosen, dropped = levels[counts.index(best)], 0
    else:
        chosen, dropped = _pack(levels[-1], max_segments, keep)
    encoding, parts = segments.count(chosen)
    return Compressed(chosen, encoding, parts, len(text) - len(chosen), naive - parts, dropped)


def as_sent(reply: Reply, *, keep_ucs2: bool = False) -> Compressed:
    """A reply as the sender puts it on air: compressed here, once, unless it was fitted where it was written."""
    if reply.fitted:
        encoding, parts = segments.count(reply.text)
        return Compressed(reply.text, encoding, parts, 0, 0)
    return compress(reply.text, max_segments=reply.max_segments, keep_ucs2=keep_ucs2, keep=reply.keep)


def _fits(max_segments: int):
    return lambda candidate: segments.count(candidate)[1] <= max_segments


def _pack(text: str, max_segments: int, keep: tuple[str, ...]) -> tuple[str, int]:
    lines = text.split("\n")
    pieces = [piece for line in lines for piece in packer.units(line)]
    steps = {piece for piece in pieces if packer.STEP.match(piece)}

    def join(chosen: list[str]) -> str:
        # A step starts its own line, as in the original; anything else follows with a space.
        out = ""
        for piece in chosen:
            out += piece if not out else ("\n" if piece in steps else " ") + piece
        return out

    return packer.pack(pieces, _fits(max_segments), join, keep)


def _tidy(text: str) -> str:
    text = text.translate(_BRACKETS)
    text = _EMPTY_PUNCT.sub(lambda m: (m.group(1) or "") + (m.group(2) or ""), text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = "\n".join(_SPACE_RUNS.sub(" ", line).strip() for line in text.split("\n"))
    text = _BLANK_LINES.sub("\n", text).strip()
    return _LOWER_START.sub(_capitalise, text)


def _capitalise(match: re.Match[str]) -> str:
    upper = match.group(2).upper()
    return match.group(1) + (upper if gsm7.is_gsm7(upper) else match.group(2))  # "ì" has no GSM-7 "Ì"
