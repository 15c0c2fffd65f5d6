"""A place sent in a later SMS: kept on the case, acknowledged with the number, never read as yes or no."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evy.cases.dialogue import next_turn
from evy.cases.state import Case
from evy.triage import triage

NUMBER = "999"

FLOOD_FIRST = {
    "en": "flood, the water is rising in our house",
    "es": "inundación, el agua sube en la casa",
    "fr": "inondation, l'eau monte dans la maison",
    "pt": "enchente, a água está subindo em casa",
    "sw": "mafuriko, maji yanapanda nyumbani",
    "ht": "inondasyon, dlo ap monte nan kay la",
}
PLACES = [
    "we are at -1.28333, 36.81667",
    "-1.28333,36.81667",
    "yes geo:-1.28333,36.81667",
    "geo:14.6937,-17.4441;u=20",
    "ok https://maps.google.com/?q=-1.28333,36.81667",
    "no https://www.openstreetmap.org/?mlat=-1.2833&mlon=36.8167#map=17/-1.2833/36.8167",
    "https://maps.app.goo.gl/AbCdEf123",
]


def open_case(language: str) -> Case:
    case = Case(id=21, sender="+254700000021", opened_at=0.0, updated_at=0.0)
    text = FLOOD_FIRST[language]
    first = next_turn(case, text, triage(text), number=NUMBER, now=60.0)
    assert first.case.category == "flood" and first.case.step == "", first.text
    return first.case


@pytest.mark.parametrize("place", PLACES)
def test_coordinates_and_links_answer_no_yes_no_question(place: str) -> None:
    case = open_case("en")
    turn = next_turn(case, place, triage(place), number=NUMBER, now=120.0)
    assert turn.case.step == "", "a place was read as an answer to 'Are you somewhere high and dry?'"
    assert turn.case.location_text is not None
    assert NUMBER in turn.text and turn.text.startswith("Place noted")


@pytest.mark.parametrize("language", sorted(FLOOD_FIRST))
def test_a_place_sent_later_is_acknowledged_with_the_number(language: str) -> None:
    case = open_case(language)
    for place in ("geo:-1.28333,36.81667", "-1.28333, 36.81667"):
        turn = next_turn(case, place, triage(place), number=NUMBER, now=120.0)
        assert turn.case.language == language
        assert NUMBER in turn.text, turn.text
        assert turn.case.latitude == pytest.approx(-1.28333)


def test_words_around_a_place_still_answer_other_questions() -> None:
    text = "my dad collapsed, he is not breathing"
    case = Case(id=22, sender="+254700000022", opened_at=0.0, updated_at=0.0)
    first = next_turn(case, text, triage(text), number=NUMBER, now=60.0)
    later = "he is breathing now, we are at geo:-1.28333,36.81667"
    turn = next_turn(first.case, later, triage(later), number=NUMBER, now=120.0)
    assert turn.case.step == "breathing" and turn.case.latitude == pytest.approx(-1.28333)


def test_a_plain_yes_still_answers() -> None:
    case = open_case("en")
    turn = next_turn(case, "yes", triage("yes"), number=NUMBER, now=120.0)
    assert turn.case.step == "yes"


@pytest.mark.parametrize(("language", "first", "report"), [
    ("en", "she collapsed, she is unconscious", "she woke up"),
    ("es", "se desmayó, está inconsciente", "se despertó"),
    ("fr", "elle s'est évanouie, inconsciente", "elle s'est réveillée"),
])
def test_a_report_on_the_person_is_not_taken_as_the_place(language: str, first: str, report: str) -> None:
    case = Case(id=23, sender="+254700000023", opened_at=0.0, updated_at=0.0)
    turn = next_turn(case, first, triage(first), number=NUMBER, now=60.0)
    for now, text in enumerate(["no", report], start=2):  # "no": not awake, not breathing normally
        turn = next_turn(turn.case, text, triage(text), number=NUMBER, now=now * 60.0)
    assert "where" in turn.case.asked and turn.case.location_text is None
    assert NUMBER in turn.text


def test_an_answer_to_where_in_no_known_form_is_still_kept_verbatim() -> None:
    case = open_case("en")
    for now, text in enumerate(["yes", "no"], start=2):  # high and dry, water not rising: then "where?"
        turn = next_turn(case, text, triage(text), number=NUMBER, now=now * 60.0)
        case = turn.case
    assert turn.case.asked[-1] == "where", turn.case.asked
    place = "behind the blue church, mathare 4b"
    kept = next_turn(turn.case, place, triage(place), number=NUMBER, now=240.0)
    assert kept.case.location_text == place


@settings(max_examples=60, deadline=None)
@given(latitude=st.floats(-89.9, 89.9), longitude=st.floats(-179.9, 179.9),
       form=st.sampled_from(["{lat:.5f}, {lon:.5f}", "{lat:.5f},{lon:.5f}", "geo:{lat:.5f},{lon:.5f}",
                             "https://maps.google.com/?q={lat:.5f},{lon:.5f}",
                             "https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}"]),
       words=st.sampled_from(["", "we are at", "yes", "no", "ok", "i am here", "nope we are at"]))
def test_no_place_is_ever_a_yes_or_no(latitude: float, longitude: float, form: str, words: str) -> None:
    if abs(latitude) < 0.001 and abs(longitude) < 0.001:
        return  # 0,0 is no place
    case = open_case("en")
    text = f"{words} {form.format(lat=latitude, lon=longitude)}".strip()
    turn = next_turn(case, text, triage(text), number=NUMBER, now=120.0)
    assert turn.case.step == "" and turn.case.latitude is not None, text
