"""A dispatcher's conversation: each message is read in the light of the sender's open case.

The first message of an emergency gets the protocol's immediate actions with the number first, then at
most one question. Later messages move the case along the protocol's steps ("breathing now" after CPR
leads to the recovery position), give the location or the number of people asked for, close the case
("SAFE") or ask how it stands ("STATUS"). A question is never asked twice in one case, and a discreet
protocol (violence at home) asks nothing and names no case. What this module cannot answer from the
protocols (a routine question, a new topic) is left to the responder: ``Turn.text`` is then None.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources

from evy.cases.code import case_code
from evy.cases.location import Location, find_location
from evy.cases.state import Case, escalate, sender_safe
from evy.messages import Priority
from evy.protocols import library
from evy.triage import Triage
from evy.triage.classify import NEEDS
from evy.triage.normalize import fold, tokens

WHERE = "where"
PEOPLE = "people"
_NEGATIONS = frozenset({"not", "no", "isnt", "arent", "aint", "never", "pas", "nao", "nunca", "sio", "si", "pa",
                        "hatuko", "siko", "sijambo"})
_NUMBER_WORDS = {
    "en": "one two three four five six seven eight nine ten",
    "es": "uno dos tres cuatro cinco seis siete ocho nueve diez",
    "fr": "un deux trois quatre cinq six sept huit neuf dix",
    "pt": "um dois tres quatro cinco seis sete oito nove dez",
    "sw": "moja mbili tatu nne tano sita saba nane tisa kumi",
    "ht": "en de twa kat senk sis set uit nef dis",
}
# Answers that report on the person, never a place ("yes", "done" may well come with one).
_ABOUT_THE_PERSON = ("breathing", "not_breathing", "awake", "unresponsive", "stopped", "continuing", "better",
                     "worse")
_RESOLVING = ("done", "stopped")  # answers that end a protocol with advice of their own ("found", "it stopped")
_SAFE_SLACK = 3  # words a SAFE message may have besides its phrase ("we are safe now thanks")
_SHORT_SLACK = 2  # the same for STATUS and thanks ("case status pls", "ok thank you")
# Inside an open emergency, a message read as another subject takes the case over only when the triage is
# this sure of it, and never as a need (water, shelter): "the water keeps rising, we are on the roof" in a
# flood is no question about drinking water, "yes, tell me more" in a discreet case no snake bite.
TAKEOVER_CONFIDENCE = 0.5


@dataclass(frozen=True)
class Words:
    """One language's conversation texts and the phrases it recognises."""

    texts: dict[str, str]
    statuses: dict[str, str]
    safe: tuple[tuple[str, ...], ...]
    status: tuple[tuple[str, ...], ...]
    thanks: tuple[tuple[str, ...], ...]
    people: frozenset[str]
    numbers: dict[str, int]


@cache
def words(language: str) -> Words:
    folder = resources.files("evy.cases").joinpath("data")
    name = f"{language}.toml" if folder.joinpath(f"{language}.toml").is_file() else "en.toml"
    data = tomllib.loads(folder.joinpath(name).read_text("utf-8"))
    texts = {key: value for key, value in data.items() if isinstance(value, str) and key != "language"}
    number_words = _NUMBER_WORDS.get(data["language"], _NUMBER_WORDS["en"]).split()
    return Words(texts=texts, statuses=dict(data["statuses"]),
                 safe=tuple(tuple(tokens(item)) for item in data["safe_words"]),
                 status=tuple(tuple(tokens(item)) for item in data["status_words"]),
                 thanks=tuple(tuple(tokens(item)) for item in data["thanks_words"]),
                 people=frozenset(fold(item) for item in data["people_words"]),
                 numbers={word: value for value, word in enumerate(number_words, start=1)})


@dataclass(frozen=True)
class Turn:
    case: Case  # the case after this message
    text: str | None  # the reply, or None: the responder answers (the case is updated all the same)
    discreet: bool = False  # no follow-up, no question, no case code
    closed: bool = False
    fresh_protocol: bool = False  # a protocol's first reply: a follow-up may add to it
    question: tuple[str, str] | None = None  # (key in Case.asked, text) of the question this turn asks


def _contains(message: list[str], phrase: tuple[str, ...]) -> bool:
    size = len(phrase)
    return any(tuple(message[i:i + size]) == phrase for i in range(len(message) - size + 1))


def _short_with(message: list[str], phrases: tuple[tuple[str, ...], ...], slack: int) -> bool:
    """``message`` holds one of ``phrases`` and at most ``slack`` words besides it."""
    return any(_contains(message, phrase) and len(message) <= len(phrase) + slack for phrase in phrases)


def says_safe(text: str, language: str) -> bool:
    """A short message that says the sender is safe now ("SAFE", "ok now", "tuko salama"), not "not safe"
    and not a question about safety ("is the water safe to drink?")."""
    message = tokens(text)
    if not message or "?" in text or _NEGATIONS & set(message):
        return False
    return _short_with(message, words(language).safe + words("en").safe, _SAFE_SLACK)


def says_thanks(text: str, language: str) -> bool:
    """A short message of thanks ("ok thank you", "asante sana"), not one that tells or asks more."""
    message = tokens(text)
    if not message or "?" in text:
        return False
    return _short_with(message, words(language).thanks + words("en").thanks, _SHORT_SLACK)


def asks_status(text: str, language: str) -> bool:
    return _short_with(tokens(text), words(language).status + words("en").status, _SHORT_SLACK)


_DIGITS = re.compile(r"(?<![\d.,:+])(\d{1,3})(?![\d.,:])")


def people_count(text: str, language: str, *, expecting: bool) -> int | None:
    """How many people a message says need help: "we are 5", "3 ppl", "two kids" — or a bare number when
    the question was just asked."""
    vocabulary = words(language)
    message = tokens(text)
    for index, word in enumerate(message):
        value = int(word) if word.isdigit() and len(word) <= 3 else vocabulary.numbers.get(word)
        if value is None or value == 0:
            continue
        nearby = set(message[max(0, index - 2): index + 3])
        if expecting or nearby & vocabulary.people:
            return value
    return None


def _label(case: Case, language: str) -> str:
    return words(language).texts["case"].format(code=case_code(case.id))


def _compose(*parts: str | None) -> str:
    return "\n".join(part for part in parts if part)


def _located(case: Case, found: Location | None) -> Case:
    if found is None or (case.latitude is not None and not found.has_coordinates):
        return case  # coordinates already known beat a later landmark
    return replace(case, location_text=found.text, latitude=found.latitude, longitude=found.longitude)


def _ago(seconds: float) -> str:
    minutes = max(0, int(seconds // 60))
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"


def next_turn(case: Case, text: str, reading: Triage, *, number: str, now: float,
              reference: tuple[float, float] | None = None) -> Turn:
    """The case after ``text`` and what to answer. ``case`` is the sender's open case (a freshly opened
    one for a first message); ``reading`` is the message's triage; ``reference`` the kit's position."""
    # A case keeps its language once it has a subject: a later "ok", a map pin or a geo: link carries no
    # language of its own (the detector's guess for it is English).
    settled = case.topic is not None or case.category is not None
    continuing = _continues(case, reading, number)
    if continuing:
        reading = replace(reading, category=case.category, topic=case.topic, language=case.language)
    language = reading.language if not settled or reading.emergency else case.language
    vocabulary = words(language)
    if says_safe(text, language) and not reading.emergency:
        closed = sender_safe(replace(case, last_in_at=now), now)
        # "tumempata yuko salama" (we found him, he is safe) still gets the protocol's last advice: check
        # for injuries, tell the searchers.
        current = _current_step(case, number)
        answer = _answer(text, None, current, case.language) if current is not None else None
        last = library.step(current.key, (*current.path, answer), case.language, number).instructions \
            if answer in _RESOLVING else None
        return Turn(closed, _compose(last, vocabulary.texts["closed"].format(code=case_code(case.id))), closed=True)
    if asks_status(text, language) and not reading.emergency and case.category is None:
        return Turn(replace(case, last_in_at=now), vocabulary.texts["no_case"])
    if asks_status(text, language) and not reading.emergency:
        status = vocabulary.statuses[str(case.status)]
        reply = vocabulary.texts["status"].format(code=case_code(case.id), status=status,
                                                  ago=_ago(now - case.updated_at))
        return Turn(replace(case, last_in_at=now), reply)

    if says_thanks(text, language) and not reading.emergency:
        keep_going = vocabulary.texts["keep_going"].format(number=number) if case.emergency else None
        return Turn(replace(case, last_in_at=now), _compose(vocabulary.texts["welcome"], keep_going),
                    discreet=_is_discreet(case, number))

    last_asked = case.asked[-1] if case.asked else None
    place = _place(text, reference, expecting=last_asked == WHERE, language=case.language)
    located = _located(case, place)
    people = people_count(text, language, expecting=last_asked == PEOPLE)
    if people is not None:
        located = replace(located, people=people)
    gave_details = located != case

    current = _current_step(case, number)
    answer = _answer(text, place, current, case.language) if current is not None else None
    if answer is not None and not _takes_over(case, reading):
        return _next_step(located, current, answer, number=number, now=now)

    updated = escalate(located, category=reading.category, topic=reading.topic, priority=int(reading.priority),
                       emergency=reading.emergency, language=language, now=now)
    # A new topic, or the same emergency grown more urgent ("water still rising, we are on the roof"),
    # restarts the protocol from its first reply; its questions already asked stay asked.
    restarted = (updated.topic, updated.category) != (case.topic, case.category) or updated.priority < case.priority
    if updated.step == "" and restarted and (
            reading.emergency or reading.topic is not None or reading.category is not None):
        return _first_reply(updated, number=number)
    # The same danger told again ("the water keeps rising") gets the case's step again, not a fresh
    # protocol that would ask its question a second time.
    same_danger = case.emergency and reading.emergency and (reading.topic, reading.category) == (
        case.topic, case.category)
    if (continuing or same_danger) and not gave_details:
        return _again(updated, number=number, now=now)
    if (gave_details or (case.emergency and reading.category is None)) and _is_discreet(updated, number):
        reply = _compose(vocabulary.texts["noted"] if gave_details else None,
                         vocabulary.texts["keep_going"].format(number=number))
        return Turn(updated, reply, discreet=True)
    if gave_details or (case.emergency and reading.category is None):
        question, asked = _pending_question(updated)
        # An emergency's acknowledgement names the number, whatever else the reply asks.
        new_place = updated.emergency and updated.location_text != case.location_text
        noted = (vocabulary.texts["place_noted"].format(number=number) if new_place
                 else vocabulary.texts["noted"] if gave_details else None)
        keep_going = None if new_place or (question and not updated.emergency) else \
            vocabulary.texts["keep_going"].format(number=number)
        reply = _compose(noted, keep_going, question, _label(updated, language))
        return Turn(replace(updated, asked=asked, last_out_at=now), reply, question=_asked(question, asked))
    return Turn(updated, None)


def _place(text: str, reference: tuple[float, float] | None, *, expecting: bool, language: str) -> Location | None:
    """The place ``text`` gives. Just after "where are you?" a reply in no known form is kept verbatim as the
    place, unless it is a known answer ("he woke up", "still bleeding"): that reports on the person."""
    place = find_location(text, reference=reference)
    if place is not None or not expecting:
        return place
    if library.classify_answer(text, language, _ABOUT_THE_PERSON) is not None:
        return None
    return find_location(text, reference=reference, expecting=True)


def _answer(text: str, place: Location | None, current: library.Step, language: str) -> str | None:
    """The answer class ``text`` gives to the current step. A place written as coordinates, a link or a
    code answers no yes/no question ("we are at -1.28, 36.81" is not "yes" to "Are you high and dry?"):
    only the words around it are read, and never as yes or no."""
    expects = current.expects
    if place is not None and place.kind != "landmark":
        text = text.replace(place.text, " ")
        expects = tuple(answer for answer in expects if answer not in ("yes", "no"))
    return library.classify_answer(text, language, expects) if expects else None


def _path(case: Case) -> tuple[str, ...]:
    return tuple(filter(None, case.step.split("/")))


def _current_step(case: Case, number: str) -> library.Step | None:
    key = case.topic or case.category
    if key is None:
        return None
    try:
        return library.step(key, _path(case), case.language, number)
    except library.ProtocolError:  # the library changed under a case opened before an upgrade
        return library.step(key, (), case.language, number)


def _is_discreet(case: Case, number: str) -> bool:
    """The case follows a discreet protocol: nothing is asked back and no case code is named, ever."""
    key = case.topic or case.category
    return key is not None and library.for_triage(case.topic, case.category, case.language, number).discreet


def _continues(case: Case, reading: Triage, number: str) -> bool:
    """The message goes on with the case's emergency although the triage reads another subject in it, too
    unsurely (or a need) to take the case over; in a discreet case only a threat to life takes over."""
    if not case.emergency or (case.topic is None and case.category is None) or not reading.emergency:
        return False
    if (reading.topic, reading.category) == (case.topic, case.category):
        return False
    if _is_discreet(case, number):
        return reading.priority is not Priority.LIFE_THREATENING or reading.confidence < TAKEOVER_CONFIDENCE
    return reading.category in NEEDS or reading.confidence < TAKEOVER_CONFIDENCE


def _again(case: Case, *, number: str, now: float) -> Turn:
    """The case's current step once more: the sender tells of the same danger going on."""
    current = _current_step(case, number)
    vocabulary = words(case.language)
    if current is None or _is_discreet(case, number):
        return Turn(case, vocabulary.texts["keep_going"].format(number=number), discreet=current is not None)
    own = (_question_key(case, current.path), current.question) if current.question else None
    question, asked = _pending_question(case, own)
    keep_going = None if number in current.instructions else vocabulary.texts["keep_going"].format(number=number)
    text = _compose(current.instructions, keep_going, question, _label(case, case.language))
    return Turn(replace(case, asked=asked, last_out_at=now), text, question=_asked(question, asked))


def _takes_over(case: Case, reading: Triage) -> bool:
    """A new, more urgent emergency outranks an answer to the current step ("yes, and now the house is
    on fire")."""
    return (reading.emergency and reading.priority < case.priority
            and (reading.topic, reading.category) != (case.topic, case.category))


def _question_key(case: Case, path: tuple[str, ...]) -> str:
    return f"{case.topic or case.category}:{'/'.join(path)}"


def _pending_question(case: Case, protocol_question: tuple[str, str] | None = None) -> tuple[str | None,
                                                                                              tuple[str, ...]]:
    """The one question to ask now and the case's asked list with it: the protocol's own question first,
    else where they are (emergencies without a location), else how many people (emergencies)."""
    if protocol_question is not None and protocol_question[0] not in case.asked:
        key, text = protocol_question
        return text, (*case.asked, key)
    if not case.emergency:
        return None, case.asked
    if case.location_text is None and WHERE not in case.asked:
        return library.ask("location", case.language), (*case.asked, WHERE)
    if case.people is None and PEOPLE not in case.asked and case.category not in ("medical", None):
        return library.ask("people", case.language), (*case.asked, PEOPLE)
    return None, case.asked


def _first_reply(case: Case, *, number: str) -> Turn:
    protocol = library.for_triage(case.topic, case.category, case.language, number)
    if protocol.discreet:
        return Turn(replace(case, step="", last_out_at=case.updated_at), protocol.instructions, discreet=True,
                    fresh_protocol=True)
    own = (_question_key(case, ()), protocol.question) if protocol.question else None
    question, asked = _pending_question(case, own)
    text = _compose(protocol.instructions, question, _label(case, case.language))
    return Turn(replace(case, asked=asked, step="", last_out_at=case.updated_at), text, fresh_protocol=True,
                question=_asked(question, asked))


def _next_step(case: Case, current: library.Step, answer: str, *, number: str, now: float) -> Turn:
    path = (*current.path, answer)
    following = library.step(current.key, path, case.language, number)
    moved = replace(case, step="/".join(path), updated_at=now, last_in_at=now, last_out_at=now)
    discreet = library.lookup(current.key, case.language, number).discreet
    if discreet:
        return Turn(moved, following.instructions, discreet=True)
    own = (_question_key(moved, path), following.question) if following.question else None
    question, asked = _pending_question(moved, own)
    text = _compose(following.instructions, question, _label(moved, case.language))
    return Turn(replace(moved, asked=asked), text, question=_asked(question, asked))


def _asked(question: str | None, asked: tuple[str, ...]) -> tuple[str, str] | None:
    return (asked[-1], question) if question else None

