"""Checks a follow-up text must pass before it is sent: it adds something, invents no number, and is in
the sender's language. A small model's answer that fails any check is dropped, never repaired."""

from __future__ import annotations

import re

from evy.router import triage
from evy.router.normalize import tokens

_NUMBER = re.compile(r"\d+")
MIN_NOVELTY = 0.4  # share of a follow-up's words the first reply did not already say
MIN_LENGTH = 20
# Share of a model answer's content words that the retrieved passages (or the message) contain. The eval
# (eval/README.md) found a small model's answers pass every other check while saying something unrelated.
MIN_GROUNDING = 0.5


def _content_words(text: str) -> set[str]:
    return {word for word in tokens(text) if len(word) >= 4}


def novelty(text: str, already_said: str) -> float:
    words = _content_words(text)
    if not words:
        return 0.0
    return len(words - _content_words(already_said)) / len(words)


def grounding(text: str, sources: list[str]) -> float:
    """How much of ``text`` the sources back: the share of its content words found in any of them."""
    words = _content_words(text)
    if not words:
        return 0.0
    known = set().union(*(_content_words(source) for source in sources)) if sources else set()
    return len(words & known) / len(words)


def invented_numbers(text: str, allowed_sources: list[str]) -> list[str]:
    """Numbers in ``text`` found in none of ``allowed_sources`` (the passages, the message, the number)."""
    allowed = {number for source in allowed_sources for number in _NUMBER.findall(source)}
    return [number for number in _NUMBER.findall(text) if number not in allowed]


def without_emergency_numbers(text: str, *, keep: str) -> str:
    """``text`` minus every emergency number of the country table other than ``keep``."""
    from evy.protocols.numbers import table

    foreign = {entry["emergency"] for entry in table().values()} - {keep}
    return _NUMBER.sub(lambda match: "" if match.group(0) in foreign else match.group(0), text)


def repetitive(text: str) -> bool:
    """Small models loop: the same sentence twice, or few distinct words for the length."""
    sentences = [s.strip().lower() for s in re.split(r"[.!?\n]+", text) if len(s.strip()) > 10]
    if len(sentences) != len(set(sentences)):
        return True
    words = tokens(text)
    return len(words) >= 20 and len(set(words)) / len(words) < 0.45


def clean(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"^(?:EVY|Assistant|Answer)\s*:\s*", "", text, flags=re.IGNORECASE)


def reject_reason(text: str, *, language: str, first_reply: str, allowed_sources: list[str]) -> str | None:
    """Why a model answer must not be sent, or None when it may."""
    if len(text) < MIN_LENGTH:
        return "too short"
    if repetitive(text):
        return "repetitive"
    invented = invented_numbers(text, allowed_sources)
    if invented:
        return f"numbers not in the sources: {', '.join(invented[:3])}"
    if triage(text).language != language:
        return f"not in the sender's language ({language})"
    if novelty(text, first_reply) < MIN_NOVELTY:
        return "adds nothing to the first reply"
    if grounding(text, allowed_sources) < MIN_GROUNDING:
        return "not grounded in the retrieved passages"
    return None
