"""Verified emergency protocols, one data file per language (``data/<language>.toml``).

A protocol (``[protocol.KEY]``) is the first reply to a case and the steps that follow it, as data:

- ``text``: the SMS-sized first reply, naming the kit's emergency number as ``{number}``;
- ``source``: the public guidance it follows;
- ``must_not``: regular expressions for its contraindications (see ``evy.protocols.safety``);
- ``question`` (optional): the one key question that changes the advice, sent after the text;
- ``next`` (with a question): answer class -> step, a step being a table with its own ``text``
  (naming ``{number}``) and optionally its own ``question`` and ``next``, or the name of a sibling class
  whose step it shares (``yes = "breathing"``);
- ``discreet`` (optional, true): read by an onlooker it must alarm no one (the file's ``[discreet]``
  words), and it asks nothing back.

A file also holds ``[phrase]`` (short phrases; ``generic_number``), ``[ask]`` (the questions that belong
to no one protocol: ``location``, ``people``), ``[answer]`` (answer class -> the folded
words people reply with), ``[negation]`` (``cues`` and scope ``resets`` for the must_not check) and
``[discreet] must_not``. Keys are triage's topics and categories, the finer protocols the triage can
map to, and ``general`` for a message that is none of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from evy.files import parse_language_file
from evy.protocols.errors import ProtocolError
from evy.protocols.safety import Negation, alarming, violations
from evy.triage.normalize import tokens

NUMBER_FIELD = "{number}"
FALLBACK_LANGUAGE = "en"
GENERAL = "general"
# What a reply can say, whatever the language; each file's [answer] table gives its words for each class.
ANSWER_CLASSES = ("yes", "no", "breathing", "not_breathing", "awake", "unresponsive", "stopped",
                  "continuing", "better", "worse", "done")

_MEDICAL = ("cpr", "choking", "bleeding", "burns", "drowning", "hypothermia", "heat_stroke", "heat_exhaustion",
            "fracture", "snake_bite", "poisoning", "allergic_reaction", "seizure", "febrile_seizure", "stroke",
            "heart_attack", "diabetic", "low_blood_sugar", "childbirth", "spinal_injury", "electric_shock",
            "dehydration", "mental_health")
# The protocols each fallback text may be sent for, when triage knows only the category (or nothing):
# a fallback must be safe for every one of them. `general` and `other` stand in for every protocol.
STANDS_IN_FOR: dict[str, tuple[str, ...]] = {
    "medical": _MEDICAL,
    "fire": ("pan_fire", "wildfire", "burns"),
    "flood": ("drowning", "vehicle_in_water", "tsunami"),
    "earthquake": ("landslide", "tsunami", "trapped"),
    "storm": ("electric_shock", "flood"),
    "trapped": ("landslide",),
    "violence": ("domestic_violence",),
    "hazmat": ("carbon_monoxide", "gas_leak", "poisoning"),
    "missing_person": ("lost_child",),
    "shelter": ("lost_child", "food_distribution"),
    "water_food": ("dehydration", "food_distribution"),
}
UNIVERSAL_FALLBACKS = ("general", "other")
# Conditions a triage reading one SMS can mistake for each other (a confused, sweating diabetic reads like a
# stroke; a gas smell after shaking like an earthquake): a message can be routed to any protocol of its group,
# so each text must be safe for every other member too. Each group is a clique; MIMICS is symmetric by
# construction.
LOOK_ALIKES: tuple[tuple[str, ...], ...] = (
    ("stroke", "low_blood_sugar", "diabetic"),
    ("seizure", "low_blood_sugar", "febrile_seizure"),
    ("seizure", "stroke"),
    ("heart_attack", "mental_health"),
    ("heart_attack", "allergic_reaction"),
    ("fracture", "spinal_injury"),
    ("drowning", "hypothermia", "cpr"),
    ("heat_stroke", "heat_exhaustion", "dehydration"),
    ("fire", "pan_fire", "wildfire", "burns"),
    ("burns", "electric_shock"),
    ("flood", "vehicle_in_water", "tsunami", "drowning"),
    ("poisoning", "carbon_monoxide", "allergic_reaction"),
    ("hazmat", "gas_leak", "carbon_monoxide"),
    ("poisoning", "mental_health"),
    ("electric_shock", "storm"),
    ("violence", "domestic_violence"),
    ("missing_person", "lost_child"),
    ("earthquake", "gas_leak", "landslide", "trapped"),
    ("bleeding", "snake_bite"),
    ("bleeding", "childbirth"),
    ("choking", "allergic_reaction", "cpr"),
    ("low_blood_sugar", "diabetic", "dehydration"),
)


def _mimics(groups: tuple[tuple[str, ...], ...]) -> dict[str, tuple[str, ...]]:
    found: dict[str, set[str]] = {}
    for group in groups:
        for key in group:
            found.setdefault(key, set()).update(other for other in group if other != key)
    return {key: tuple(sorted(others)) for key, others in sorted(found.items())}


MIMICS: dict[str, tuple[str, ...]] = _mimics(LOOK_ALIKES)

_PROTOCOL_FIELDS = {"text", "source", "must_not", "question", "next", "discreet"}
_STEP_FIELDS = {"text", "question", "next"}
_SECTIONS = {"language", "phrase", "ask", "answer", "negation", "discreet", "protocol"}
# The dispatcher's questions that belong to no one protocol, asked once per case when the answer is missing.
ASKS = ("location", "people")


@dataclass(frozen=True)
class Step:
    """One reply of a protocol: the first (path ``()``) or the one an answer led to."""

    key: str
    path: tuple[str, ...]
    language: str
    instructions: str  # the number already filled in
    question: str | None
    expects: tuple[str, ...]  # the answer classes that lead on from here

    @property
    def text(self) -> str:
        """What to send: the instructions, then the question."""
        return f"{self.instructions}\n{self.question}" if self.question else self.instructions


@dataclass(frozen=True)
class Protocol(Step):
    source: str = ""
    discreet: bool = False


@dataclass(frozen=True)
class _Entry:
    text: str
    question: str | None
    next: dict[str, _Entry] = field(default_factory=dict)


@dataclass(frozen=True)
class _Protocol(_Entry):
    source: str = ""
    must_not: tuple[re.Pattern[str], ...] = ()
    discreet: bool = False


@dataclass(frozen=True)
class _Language:
    protocols: dict[str, _Protocol]
    phrases: dict[str, str]
    generic_number: tuple[str, ...]
    answers: dict[str, tuple[tuple[str, ...], ...]]  # class -> its phrases as token tuples
    negation: Negation
    discreet: tuple[re.Pattern[str], ...]
    asks: dict[str, str]


# --- loading and validation ----------------------------------------------------------------------------------

def _strings(value: Any, where: str, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ProtocolError(f"{where}: {what} must be a list of non-empty strings")
    return tuple(value)


def _patterns(value: Any, where: str, what: str) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for pattern in _strings(value, where, what):
        if not pattern.isascii():
            raise ProtocolError(f"{where}: {what}: {pattern!r} has accents; patterns are written for folded text")
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise ProtocolError(f"{where}: {what}: bad regular expression {pattern!r}: {exc}") from None
    return tuple(compiled)


def _entry(raw: Any, where: str, allowed: set[str]) -> tuple[str, str | None, dict[str, _Entry]]:
    if not isinstance(raw, dict):
        raise ProtocolError(f"{where}: expected a table")
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ProtocolError(f"{where}: unknown field {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
    text, question = raw.get("text"), raw.get("question")
    if not isinstance(text, str) or NUMBER_FIELD not in text:
        raise ProtocolError(f"{where}: text must name the number as {NUMBER_FIELD}")
    if question is not None and (not isinstance(question, str) or not question.strip()):
        raise ProtocolError(f"{where}: question must be a non-empty string")
    steps = raw.get("next", {})
    if steps and question is None and raw.get("discreet") is not True:
        raise ProtocolError(f"{where}: next steps need a question to ask")
    if not isinstance(steps, dict):
        raise ProtocolError(f"{where}: next must be a table of answer class -> step")
    built: dict[str, _Entry] = {}
    for answer, step in steps.items():
        if answer not in ANSWER_CLASSES:
            raise ProtocolError(f"{where}: next.{answer}: not an answer class ({', '.join(ANSWER_CLASSES)})")
        if not isinstance(step, str):
            built[answer] = _Entry(*_entry(step, f"{where}.next.{answer}", _STEP_FIELDS))
    for answer, step in steps.items():
        if isinstance(step, str):
            if step not in built:
                raise ProtocolError(f"{where}: next.{answer}: {step!r} is not a sibling step with a text")
            built[answer] = built[step]
    return text, question, built


def _protocol(raw: Any, where: str) -> _Protocol:
    text, question, steps = _entry(raw, where, _PROTOCOL_FIELDS)
    source, discreet = raw.get("source"), raw.get("discreet", False)
    if not isinstance(source, str) or len(source.strip()) < 10:
        raise ProtocolError(f"{where}: source is required (the public guidance it follows)")
    if not isinstance(discreet, bool):
        raise ProtocolError(f"{where}: discreet must be true or false")
    if discreet and (question is not None or set(steps) - {"yes"}):
        raise ProtocolError(f"{where}: a discreet protocol asks nothing back (no question; its one next step is "
                            "next.yes, the more its text offers)")
    must_not = _patterns(raw.get("must_not"), where, "must_not")
    if not must_not:
        raise ProtocolError(f"{where}: must_not needs at least one contraindication")
    return _Protocol(text, question, steps, source, must_not, discreet)


def _language(data: dict[str, Any], where: str) -> _Language:
    unknown = sorted(set(data) - _SECTIONS)
    if unknown:
        raise ProtocolError(f"{where}: unknown section {unknown[0]!r}")
    phrases = dict(data.get("phrase", {}))
    generic = _strings(phrases.pop("generic_number", []) or ["-"], where, "phrase.generic_number")
    for name, text in phrases.items():
        if not isinstance(text, str) or NUMBER_FIELD not in text:
            raise ProtocolError(f"{where}: phrase.{name} must name the number as {NUMBER_FIELD}")
    asks = data.get("ask", {})
    if set(asks) != set(ASKS) or not all(isinstance(text, str) and text.rstrip().endswith("?")
                                         for text in asks.values()):
        raise ProtocolError(f"{where}: [ask] must give {', '.join(ASKS)}, each a question ending in '?'")
    raw_answers = data.get("answer", {})
    if set(raw_answers) != set(ANSWER_CLASSES):
        missing = sorted(set(ANSWER_CLASSES) ^ set(raw_answers))
        raise ProtocolError(f"{where}: [answer] must list exactly the answer classes; wrong: {', '.join(missing)}")
    answers = {}
    for answer in ANSWER_CLASSES:
        phrases_of = tuple(tuple(tokens(words)) for words in _strings(raw_answers[answer], where, f"answer.{answer}"))
        if not all(phrases_of):
            raise ProtocolError(f"{where}: answer.{answer}: a phrase has no words")
        answers[answer] = phrases_of
    negation = data.get("negation", {})
    cues = _strings(negation.get("cues"), where, "negation.cues")
    resets = _strings(negation.get("resets"), where, "negation.resets")
    discreet = _patterns(data.get("discreet", {}).get("must_not"), where, "discreet.must_not")
    raw_protocols = data.get("protocol", {})
    protocols = {key: _protocol(entry, f"{where}: protocol.{key}") for key, entry in raw_protocols.items()}
    return _Language(protocols, phrases, generic if generic != ("-",) else (), answers,
                     Negation.of(cues, resets), discreet, dict(asks))


def load_language(text: str, language: str, where: str) -> _Language:
    """One language's data file, checked; any fault is a one-line ProtocolError naming ``where`` and the key."""
    return _language(parse_language_file(text, language, where, ProtocolError), where)


def shipped_text(language: str) -> str | None:
    """The text of the library file the image ships for ``language`` (None: no such language)."""
    item = resources.files("evy.protocols").joinpath("data", f"{language}.toml")
    if language == "emergency_numbers" or not item.is_file():
        return None
    return item.read_text("utf-8")


@cache
def shipped() -> dict[str, _Language]:
    """The library as the image ships it."""
    folder = resources.files("evy.protocols").joinpath("data")
    library: dict[str, _Language] = {}
    for item in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if not item.name.endswith(".toml") or item.name == "emergency_numbers.toml":
            continue
        language = item.name.removesuffix(".toml")
        library[language] = load_language(item.read_text("utf-8"), language, f"protocols/data/{item.name}")
    if FALLBACK_LANGUAGE not in library:
        raise ProtocolError(f"protocols/data: {FALLBACK_LANGUAGE}.toml is missing")
    return library


_updates: dict[str, _Language] = {}  # language -> a checked update from the cell (evy.protocols.updates)


def install_updates(updates: dict[str, _Language]) -> None:
    """Use these checked languages in place of the shipped ones (``{}``: the shipped library again)."""
    global _updates
    _updates = dict(updates)
    _library.cache_clear()


@cache
def _library() -> dict[str, _Language]:
    return {**shipped(), **_updates}


# --- the API -------------------------------------------------------------------------------------------------

def name_the_number(text: str, language: str, number: str) -> str:
    """``text`` with "the emergency number" (in ``language``) replaced by the number itself."""
    entry = _library().get(language)
    for words in entry.generic_number if entry else ():
        text = re.sub(re.escape(words), number, text, flags=re.IGNORECASE)
    return text


def phrase(name: str, language: str, number: str) -> str:
    """A short phrase (``call``: "Emergency: call 112.") in ``language``, else in English."""
    for candidate in (language, FALLBACK_LANGUAGE):
        entry = _library().get(candidate)
        text = entry.phrases.get(name) if entry else None
        if text is not None:
            return text.replace(NUMBER_FIELD, number)
    raise ProtocolError(f"no phrase {name!r} in {language!r} or {FALLBACK_LANGUAGE!r}")


def ask(name: str, language: str) -> str:
    """A dispatcher question (``location``, ``people``) in ``language``, else in English."""
    if name not in ASKS:
        raise ProtocolError(f"no question {name!r} (known: {', '.join(ASKS)})")
    entry = _library().get(language) or _library()[FALLBACK_LANGUAGE]
    return entry.asks[name]


def languages() -> tuple[str, ...]:
    return tuple(sorted(_library()))


def keys(language: str = FALLBACK_LANGUAGE) -> tuple[str, ...]:
    entry = _library().get(language)
    return tuple(sorted(entry.protocols)) if entry else ()


def _find(key: str, language: str) -> tuple[str, _Protocol]:
    for candidate in (language, FALLBACK_LANGUAGE):
        entry = _library().get(candidate)
        if entry is not None and key in entry.protocols:
            return candidate, entry.protocols[key]
    raise ProtocolError(f"no protocol {key!r} in {language!r} or {FALLBACK_LANGUAGE!r}")


def lookup(key: str | None, language: str, number: str) -> Protocol:
    """The protocol ``key`` in ``language`` (English if that language lacks it), naming ``number``.

    ``key`` None gives the general help text. An unknown key is an error: triage and the library
    must agree on names, and a test checks that they do.
    """
    if not number:
        raise ProtocolError("no emergency number to put in the protocol")
    key = key or GENERAL
    found, entry = _find(key, language)
    return Protocol(key, (), found, entry.text.replace(NUMBER_FIELD, number), entry.question,
                    tuple(entry.next), entry.source, entry.discreet)


def step(key: str, path: Iterable[str], language: str, number: str) -> Step:
    """The step of protocol ``key`` that the answers ``path`` lead to (``()``: the first reply)."""
    if not number:
        raise ProtocolError("no emergency number to put in the protocol")
    path = tuple(path)
    found, node = _find(key, language)
    entry: _Entry = node
    for depth, answer in enumerate(path):
        if answer not in entry.next:
            raise ProtocolError(f"protocol {key!r}: no step for {'/'.join(path[:depth + 1])!r}")
        entry = entry.next[answer]
    return Step(key, path, found, entry.text.replace(NUMBER_FIELD, number), entry.question, tuple(entry.next))


def paths(key: str, language: str = FALLBACK_LANGUAGE) -> tuple[tuple[str, ...], ...]:
    """Every step's path in protocol ``key``, the first reply's ``()`` first."""
    def walk(entry: _Entry, prefix: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        yield prefix
        for answer, child in entry.next.items():
            yield from walk(child, (*prefix, answer))

    return tuple(walk(_find(key, language)[1], ()))


def for_triage(topic: str | None, category: str | None, language: str, number: str) -> Protocol:
    """The most specific protocol for a triage: its topic, else its category, else the general text."""
    for key in (topic, category):
        if key and any(key in entry.protocols for entry in _library().values()):
            return lookup(key, language, number)
    return lookup(GENERAL, language, number)


def stands_in_for(key: str) -> tuple[str, ...]:
    """The protocols the text ``key`` may be sent for: itself, and for a fallback every protocol it covers."""
    if key in UNIVERSAL_FALLBACKS:
        return keys(FALLBACK_LANGUAGE)
    return (key, *STANDS_IN_FOR.get(key, ()))


def mistaken_for(key: str) -> tuple[str, ...]:
    """The protocols a case routed to ``key`` may really be (its look-alikes, ``MIMICS``)."""
    return MIMICS.get(key, ())


def must_be_safe_for(key: str) -> tuple[str, ...]:
    """Every protocol whose ``must_not`` the text ``key`` must pass: what it stands in for and what a case
    sent it may really be (the look-alikes of itself and of each protocol it stands in for)."""
    found = dict.fromkeys(stands_in_for(key))
    for covered in tuple(found):
        found.update(dict.fromkeys(mistaken_for(covered)))
    return tuple(found)


def contraindications(text: str, language: str, keys_: Iterable[str]) -> list[str]:
    """The ``must_not`` patterns of protocols ``keys_`` (in ``language``) that ``text`` breaks, as
    "key: pattern". Empty: nothing found against it."""
    entry = _library().get(language) or _library()[FALLBACK_LANGUAGE]
    broken: list[str] = []
    for key in keys_:
        protocol = entry.protocols.get(key)
        if protocol is None:
            raise ProtocolError(f"no protocol {key!r} in {language!r}")
        broken += [f"{key}: {hit}" for hit in violations(text, protocol.must_not, entry.negation)]
    return broken


def alarming_words(text: str, language: str) -> list[str]:
    """The ``[discreet]`` patterns of ``language`` that ``text`` contains: words that would alarm someone
    reading a discreet reply over the sender's shoulder."""
    entry = _library().get(language) or _library()[FALLBACK_LANGUAGE]
    return alarming(text, entry.discreet)


def answer_phrases(language: str) -> dict[str, tuple[str, ...]]:
    """Answer class -> the words people reply with in ``language`` (folded, SMS spelling)."""
    entry = _library().get(language) or _library()[FALLBACK_LANGUAGE]
    return {answer: tuple(" ".join(words) for words in found) for answer, found in entry.answers.items()}


def classify_answer(text: str, language: str, expects: Iterable[str] = ANSWER_CLASSES) -> str | None:
    """The answer class ``text`` gives among ``expects``: the class of its longest known phrase (the first
    such phrase on a tie), or None when it says none of them."""
    entry = _library().get(language) or _library()[FALLBACK_LANGUAGE]
    words = tokens(text)
    best: tuple[int, int, str] | None = None  # (-length, position, class)
    for answer in expects:
        for phrase_words in entry.answers.get(answer, ()):
            size = len(phrase_words)
            for position in range(len(words) - size + 1):
                if tuple(words[position:position + size]) == phrase_words:
                    candidate = (-size, position, answer)
                    if best is None or candidate < best:
                        best = candidate
                    break
    return best[2] if best else None
