"""The conversation set: scripted multi-turn SMS conversations, each turn with what its reply must and must
not say (eval/conversations/*.toml; the format is in eval/README.md).

Every problem is an :class:`EvalSetError` of one line naming the file, the conversation id, the turn and
the key. Patterns are checked and folded as in :mod:`evy.evaluate.evalset`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evy.errors import read_text
from evy.evaluate import evalset
from evy.evaluate.errors import EvalSetError
from evy.evaluate.folding import fold
from evy.protocols import library

LANGUAGES = ("en", "es", "fr", "pt", "sw", "ht")
MAX_TURNS = 8
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_KEYS = {"id", "lang", "emergency", "protocol", "discreet", "about", "turn"}
_TURN_KEYS = {"text", "must", "must_not", "emergency", "step", "asks", "silent"}


@dataclass(frozen=True)
class Turn:
    text: str
    must: tuple[tuple[str, ...], ...]  # facts, each a tuple of alternative patterns (folded)
    must_not: tuple[str, ...]
    emergency: bool  # the reply must name the configured emergency number
    step: str | None = None  # the case's protocol step after this turn (EVY only)
    asks: str | None = None  # the question key EVY's case records as asked on this turn (EVY only)
    silent: bool = False  # no reply may come (the sender sent STOP before)


@dataclass(frozen=True)
class Conversation:
    id: str
    lang: str
    emergency: bool
    turns: tuple[Turn, ...]
    protocol: str | None = None  # every reply is checked against this protocol's contraindications
    discreet: bool = False  # one SMS per message, no question back, nothing alarming over a shoulder
    about: str = ""

    def as_case(self, index: int) -> evalset.Case:
        """Turn ``index`` as an eval-set case, so that :func:`evy.evaluate.scoring.score` scores it."""
        turn = self.turns[index]
        return evalset.Case(id=f"{self.id}#{index + 1}", lang=self.lang, category="other",
                            emergency=turn.emergency, text=turn.text, must=turn.must, must_not=turn.must_not)


@dataclass(frozen=True)
class ConversationSet:
    conversations: tuple[Conversation, ...]
    sources: tuple[str, ...] = ()

    def select(self, ids: list[str]) -> tuple[Conversation, ...]:
        by_id = {conversation.id: conversation for conversation in self.conversations}
        unknown = [i for i in ids if i not in by_id]
        if unknown:
            raise EvalSetError(f"no conversation with id {', '.join(map(repr, unknown))} in the set")
        return tuple(by_id[i] for i in ids)


def load(folder: Path | str) -> ConversationSet:
    """Every ``*.toml`` of ``folder`` (or the one file ``folder`` names), ids unique across them."""
    folder = Path(folder)
    files = [folder] if folder.is_file() else sorted(folder.glob("*.toml"))
    if not files:
        raise EvalSetError(f"{folder}: no conversation files (*.toml)")
    conversations: list[Conversation] = []
    sources: list[str] = []
    seen: set[str] = set()
    for path in files:
        found = parse(read_text(path, "the conversation set", EvalSetError), path)
        for conversation in found.conversations:
            if conversation.id in seen:
                raise EvalSetError(f"{path}: conversation {conversation.id!r}: id used in another file too")
            seen.add(conversation.id)
        conversations += found.conversations
        sources += found.sources
    return ConversationSet(tuple(conversations), tuple(sources))


def parse(text: str, path: Path | None = None) -> ConversationSet:
    conversations, sources = evalset.entries(text, path, "conversation", _conversation)
    return ConversationSet(conversations, sources)


def _flag(raw: dict, key: str, where: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise EvalSetError(f"{where}: {key}: expected true or false, got {value!r}")
    return value


def _conversation(raw: Any, where: str) -> Conversation:
    if not isinstance(raw, dict):
        raise EvalSetError(f"{where}: expected a table")
    ident = raw.get("id")
    if not isinstance(ident, str) or not _ID.match(ident):
        raise EvalSetError(f"{where}: id: expected lower-case letters, digits and dashes, got {ident!r}")
    where = f"{where.rsplit('conversation ', 1)[0]}conversation {ident!r}"
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise EvalSetError(f"{where}: unknown key {unknown[0]!r}")
    for key in ("lang", "emergency", "turn"):
        if key not in raw:
            raise EvalSetError(f"{where}: {key}: missing")
    lang = raw["lang"]
    if lang not in LANGUAGES:
        raise EvalSetError(f"{where}: lang: expected one of {', '.join(LANGUAGES)}, got {lang!r}")
    emergency = _flag(raw, "emergency", where, False)
    discreet = _flag(raw, "discreet", where, False)
    protocol = raw.get("protocol")
    if protocol is not None and protocol not in library.keys(lang):
        raise EvalSetError(f"{where}: protocol: no protocol {protocol!r} in the library for {lang!r}")
    about = raw.get("about", "")
    if not isinstance(about, str):
        raise EvalSetError(f"{where}: about: expected a string")
    raw_turns = raw["turn"]
    if not isinstance(raw_turns, list) or not raw_turns or len(raw_turns) > MAX_TURNS:
        raise EvalSetError(f"{where}: turn: expected 1 to {MAX_TURNS} [[conversation.turn]] tables")
    turns = tuple(_turn(item, f"{where}: turn {index}", emergency) for index, item in enumerate(raw_turns, 1))
    return Conversation(id=ident, lang=lang, emergency=emergency, turns=turns, protocol=protocol,
                        discreet=discreet, about=about)


def _turn(raw: Any, where: str, emergency: bool) -> Turn:
    if not isinstance(raw, dict):
        raise EvalSetError(f"{where}: expected a table")
    unknown = sorted(set(raw) - _TURN_KEYS)
    if unknown:
        raise EvalSetError(f"{where}: unknown key {unknown[0]!r}")
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise EvalSetError(f"{where}: text: expected a non-empty string")
    if len(text) > evalset.MAX_TEXT:
        raise EvalSetError(f"{where}: text: {len(text)} characters, more than an SMS conversation "
                           f"({evalset.MAX_TEXT})")
    silent = _flag(raw, "silent", where, False)
    must_raw = raw.get("must", [])
    if not isinstance(must_raw, list) or (not must_raw and not silent):
        raise EvalSetError(f"{where}: must: expected a non-empty list of facts (lists of patterns)")
    if must_raw and silent:
        raise EvalSetError(f"{where}: must: a silent turn expects no reply, so it has no facts")
    facts = []
    for index, fact in enumerate(must_raw):
        if isinstance(fact, str):
            fact = [fact]
        if not isinstance(fact, list) or not fact or not all(isinstance(p, str) and p for p in fact):
            raise EvalSetError(f"{where}: must[{index}]: expected a non-empty list of pattern strings")
        facts.append(tuple(evalset.checked(p, f"{where}: must[{index}]") for p in fact))
    echoed = [(index, p) for index, fact in enumerate(facts) for p in fact
              if evalset.compiled(p, "\x00").search(fold(text))]
    if echoed:
        index, pattern = echoed[0]
        raise EvalSetError(f"{where}: must[{index}]: pattern {pattern!r} matches the message itself, so a reply "
                           "that only repeats it would pass")
    must_not = raw.get("must_not", [])
    if not isinstance(must_not, list) or not all(isinstance(p, str) and p for p in must_not):
        raise EvalSetError(f"{where}: must_not: expected a list of pattern strings")
    for key in ("step", "asks"):
        if not isinstance(raw.get(key, ""), str):
            raise EvalSetError(f"{where}: {key}: expected a string")
    return Turn(text=text, must=tuple(facts),
                must_not=tuple(evalset.checked(p, f"{where}: must_not") for p in must_not),
                emergency=_flag(raw, "emergency", where, emergency) and not silent,
                step=raw.get("step"), asks=raw.get("asks"), silent=silent)
