"""The conversation, message by message, on the real protocol library (no modem: tests/pipeline drives it
through the pty simulator)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evy.cases.code import case_code
from evy.cases.dialogue import next_turn, people_count, says_safe
from evy.cases.state import Case, Status
from evy.messages import Priority
from evy.triage import Triage

NUMBER = "999"
ROUTINE = Triage(emergency=False, category=None, topic=None, priority=Priority.ROUTINE, language="en")


def reading(topic: str | None, category: str | None, *, priority: int = 0, language: str = "en") -> Triage:
    return Triage(emergency=priority <= 1, category=category, topic=topic, priority=Priority(priority),
                  language=language)


def new_case(case_id: int = 7) -> Case:
    return Case(id=case_id, sender="+254700000001", opened_at=0.0, updated_at=0.0)


def test_cpr_then_breathing_moves_to_the_recovery_position() -> None:
    first = next_turn(new_case(), "my dad collapsed he is not breathing", reading("cpr", "medical"),
                      number=NUMBER, now=1.0)
    assert first.text.startswith("Not breathing") and NUMBER in first.text.split("\n")[0]
    assert first.text.rstrip().endswith(f"Case {case_code(7)}.")
    assert first.fresh_protocol and first.case.topic == "cpr" and first.case.emergency
    second = next_turn(first.case, "he is breathing now what do i do", ROUTINE, number=NUMBER, now=60.0)
    assert "side" in second.text and NUMBER in second.text
    assert second.case.step == "breathing" and second.case.topic == "cpr"


def test_no_question_is_asked_twice() -> None:
    turn = next_turn(new_case(), "not breathing", reading("cpr", "medical"), number=NUMBER, now=1.0)
    asked = list(turn.case.asked)
    for now, text in enumerate(["still not breathing", "no", "no", "we are near the mosque on Market Road",
                                "ok", "hmm"], start=2):
        turn = next_turn(turn.case, text, ROUTINE, number=NUMBER, now=float(now))
        assert len(set(turn.case.asked)) == len(turn.case.asked)
        assert turn.case.asked[: len(asked)] == tuple(asked)
        asked = list(turn.case.asked)


def test_where_is_asked_once_and_the_answer_is_kept_verbatim() -> None:
    turn = next_turn(new_case(), "flood water rising in our house", reading(None, "flood"), number=NUMBER, now=1)
    turn = next_turn(turn.case, "yes", ROUTINE, number=NUMBER, now=2)  # answers the protocol's own question
    questions = " ".join(turn.case.asked)
    if "where" not in questions:
        turn = next_turn(turn.case, "no", ROUTINE, number=NUMBER, now=3)
    assert "where" in turn.case.asked or turn.case.location_text is not None
    if turn.case.asked[-1] == "where":
        answered = next_turn(turn.case, "kibera olympic estate gate b", ROUTINE, number=NUMBER, now=4)
        assert answered.case.location_text == "kibera olympic estate gate b"
        assert answered.text.startswith("Place noted") and NUMBER in answered.text


def test_coordinates_anywhere_in_the_thread_are_stored() -> None:
    turn = next_turn(new_case(), "house on fire we are at -1.29210, 36.82190", reading(None, "fire"),
                     number=NUMBER, now=1)
    assert (turn.case.latitude, turn.case.longitude) == (-1.2921, 36.8219)
    assert "where" not in turn.case.asked


def test_safe_closes_the_case_and_names_it() -> None:
    turn = next_turn(new_case(), "not breathing", reading("cpr", "medical"), number=NUMBER, now=1)
    done = next_turn(turn.case, "we are safe now", ROUTINE, number=NUMBER, now=2)
    assert done.closed and done.case.status is Status.CLOSED and case_code(7) in done.text


@pytest.mark.parametrize("text", ["is the water safe to drink?", "we are not safe", "safe place to go for the "
                                  "night with 4 children and grandmother please tell us"])
def test_safe_inside_another_message_does_not_close(text: str) -> None:
    assert not says_safe(text, "en")


def test_status_names_the_case_and_its_state() -> None:
    turn = next_turn(new_case(), "not breathing", reading("cpr", "medical"), number=NUMBER, now=1)
    dispatched = replace(turn.case, status=Status.DISPATCHED)
    status = next_turn(dispatched, "STATUS", ROUTINE, number=NUMBER, now=301)
    assert "help is on the way" in status.text and case_code(7) in status.text


def test_a_more_urgent_emergency_takes_over_the_case() -> None:
    turn = next_turn(new_case(), "i think my arm is broken", reading("fracture", "medical", priority=1),
                     number=NUMBER, now=1)
    worse = next_turn(turn.case, "now he stopped breathing", reading("cpr", "medical"), number=NUMBER, now=2)
    assert worse.case.topic == "cpr" and worse.fresh_protocol and worse.text.startswith("Not breathing")


def test_a_routine_message_in_a_routine_case_is_left_to_the_responder() -> None:
    turn = next_turn(new_case(), "when is the food distribution", reading(None, "water_food", priority=3),
                     number=NUMBER, now=1)
    later = next_turn(turn.case, "and where is the nearest clinic", ROUTINE, number=NUMBER, now=2)
    assert later.text is None and later.case.category == "water_food"


@pytest.mark.parametrize(("language", "thanks", "welcome"), [
    ("en", "ok thank you", "You are welcome"), ("es", "muchas gracias", "De nada"), ("fr", "merci beaucoup", "De rien"),
    ("pt", "valeu, obrigado", "De nada"), ("sw", "asante sana", "Karibu"), ("ht", "mesi anpil", "Pa gen")])
def test_thanks_is_answered_in_kind_and_never_read_as_yes(language: str, thanks: str, welcome: str) -> None:
    routine = next_turn(new_case(), "is the road flooded", reading(None, "flood", priority=3, language=language),
                        number=NUMBER, now=1)
    later = next_turn(routine.case, thanks, replace(ROUTINE, language=language), number=NUMBER, now=2)
    assert later.text.startswith(welcome) and NUMBER not in later.text and later.case.step == routine.case.step
    flood = next_turn(new_case(), "water in the house", reading(None, "flood", priority=1, language=language),
                      number=NUMBER, now=1)
    later = next_turn(flood.case, thanks, replace(ROUTINE, language=language), number=NUMBER, now=2)
    assert later.text.startswith(welcome) and NUMBER in later.text and later.case.step == flood.case.step


def test_a_discreet_protocol_asks_nothing_and_names_no_case() -> None:
    turn = next_turn(new_case(), "he is hitting me again", reading("domestic_violence", "violence"),
                     number=NUMBER, now=1)
    assert turn.discreet and turn.case.asked == () and case_code(7) not in turn.text and NUMBER in turn.text


def test_a_discreet_case_asks_nothing_on_later_messages_either() -> None:
    turn = next_turn(new_case(), "he is hitting me again", reading("domestic_violence", "violence"),
                     number=NUMBER, now=1)
    for now, text in enumerate(["yes please tell me more", "he is asleep now", "ok"], start=2):
        turn = next_turn(turn.case, text, ROUTINE, number=NUMBER, now=float(now))
        shown = turn.text or ""
        assert "?" not in shown and case_code(7) not in shown and turn.case.asked == ()
        assert turn.text is None or turn.discreet


def test_the_same_emergency_getting_worse_does_not_ask_its_question_again() -> None:
    turn = next_turn(new_case(), "water coming in the house", reading(None, "flood", priority=1),
                     number=NUMBER, now=1)
    question = turn.question[1]
    turn = next_turn(turn.case, "we are at -1.28333, 36.81667", ROUTINE, number=NUMBER, now=2)
    worse = next_turn(turn.case, "water still rising, we are on the roof", reading(None, "flood", priority=0),
                      number=NUMBER, now=3)
    assert worse.text is not None and question not in worse.text and NUMBER in worse.text
    assert worse.text.rstrip().endswith(f"Case {case_code(7)}.")
    assert len(set(worse.case.asked)) == len(worse.case.asked)


def test_a_place_without_words_keeps_the_case_language() -> None:
    turn = next_turn(new_case(), "l eau monte vite dans la maison", reading(None, "flood", priority=1, language="fr"),
                     number=NUMBER, now=1)
    placed = next_turn(turn.case, "geo:14.6937,-17.4441", ROUTINE, number=NUMBER, now=2)
    assert placed.case.language == "fr" and placed.case.latitude == 14.6937
    assert placed.text is not None and f"Dossier {case_code(7)}." in placed.text


def test_each_language_carries_its_own_words() -> None:
    turn = next_turn(new_case(), "hapumui", reading("cpr", "medical", language="sw"), number=NUMBER, now=1)
    assert "Kesi" in turn.text and NUMBER in turn.text
    assert next_turn(turn.case, "tuko salama sasa", ROUTINE, number=NUMBER, now=2).closed


@pytest.mark.parametrize(("text", "expecting", "count"), [
    ("we are 5 people", False, 5), ("3 ppl trapped", False, 3), ("two kids and me", False, 2),
    ("4", True, 4), ("4", False, None), ("call 0712345678", False, None), ("tuko watu sita", False, 6),
    ("somos cinco personas", False, 5),
])
def test_people_count(text: str, expecting: bool, count: int | None) -> None:
    language = "sw" if "tuko" in text else "es" if "somos" in text else "en"
    assert people_count(text, language, expecting=expecting) == count


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["no", "yes", "breathing now", "still bleeding", "the fire is out", "2",
                                 "near the school", "STATUS", "help", "thanks", "he woke up", "worse"]),
                max_size=10),
       st.sampled_from([("cpr", "medical"), ("bleeding", "medical"), (None, "fire"), (None, "flood"),
                        ("choking", "medical"), (None, "earthquake")]))
def test_any_conversation_keeps_the_case_rules(messages: list[str], start: tuple[str | None, str]) -> None:
    turn = next_turn(new_case(), "help", reading(*start), number=NUMBER, now=1.0)
    for now, text in enumerate(messages, start=2):
        before = turn.case
        turn = next_turn(turn.case, text, ROUTINE, number=NUMBER, now=float(now))
        assert turn.case.emergency  # a calmer message never downgrades an emergency case
        assert len(set(turn.case.asked)) == len(turn.case.asked)
        assert turn.case.updated_at >= before.updated_at
        if turn.text is not None and not turn.closed:
            assert NUMBER in turn.text or "Case" in turn.text


@pytest.mark.parametrize("language", ["en", "es", "fr", "pt", "sw", "ht"])
def test_each_language_has_every_text_in_gsm7(language: str) -> None:
    from evy.cases.dialogue import words
    from evy.sms.gsm7 import is_gsm7

    vocabulary = words(language)
    assert set(vocabulary.texts) == {"case", "noted", "place_noted", "keep_going", "closed", "welcome", "status",
                                      "no_case"}
    assert set(vocabulary.statuses) == {str(status) for status in Status}
    for text in [*vocabulary.texts.values(), *vocabulary.statuses.values()]:
        assert is_gsm7(text.format(code="2BE4", number="999", status="x", ago="5 min")), text
    assert vocabulary.safe and vocabulary.status and vocabulary.thanks and vocabulary.people


def test_status_without_a_case_says_so() -> None:
    turn = next_turn(new_case(), "status", ROUTINE, number=NUMBER, now=1)
    assert "no open case" in turn.text


@pytest.mark.parametrize(("language", "lost", "found", "advice"), [
    ("en", "my son is lost in the market", "found him safe now", "injur"),
    ("sw", "mtoto wangu amepotea sokoni", "tumempata yuko salama", "ameumia")])
def test_found_and_safe_closes_the_case_with_the_protocols_last_advice(language, lost, found, advice) -> None:
    turn = next_turn(new_case(), lost, reading(None, "missing_person", priority=1, language=language),
                     number=NUMBER, now=1)
    closing = next_turn(turn.case, found, replace(ROUTINE, language=language), number=NUMBER, now=2)
    assert closing.closed and advice in closing.text and case_code(7) in closing.text


def test_the_same_danger_told_again_repeats_the_step_but_never_its_question() -> None:
    flood = reading(None, "flood", priority=1, language="es")
    first = next_turn(new_case(), "el rio se salio y el agua entra en la casa", flood, number=NUMBER, now=1)
    assert first.question is not None
    again = next_turn(first.case, "el agua sigue subiendo", flood, number=NUMBER, now=2)
    assert again.text is not None and NUMBER in again.text and first.question[1] not in again.text
    assert again.case.asked.count(first.question[0]) == 1
