"""Faults found on messages nobody tuned for, fixed by pattern; each case is written for this test only."""

from __future__ import annotations

import pytest

from evy.triage import triage


@pytest.mark.parametrize("text", [
    "a que hora entregan las bolsas de arroz en la escuela",  # Spanish "bolsas" is no Portuguese "bolhas"
    "a que hora dan las bolsas de frijol en el albergue",
])
def test_a_word_is_not_corrected_into_another_language_of_a_clear_message(text):
    result = triage(text)
    assert not result.emergency
    assert result.topic != "burns"


@pytest.mark.parametrize(("text", "language"), [
    ("my uncle left for the mine on monday and never came back, nobody has seen him", "en"),
    ("mi tio salio a la mina el lunes y no ha regresado, nadie lo ha visto", "es"),
    ("meu tio foi pra mina segunda e nunca voltou, ninguem viu ele", "pt"),
])
def test_a_missing_adult_is_no_lost_child(text, language):
    result = triage(text)
    assert (result.emergency, result.category, result.language) == (True, "missing_person", language)
    assert result.topic != "lost_child"


@pytest.mark.parametrize(("text", "language"), [
    ("does anyone know if the post office opens on saturday", "en"),
    ("alguien sabe si el correo abre el sabado", "es"),
    ("quelqu'un sait si la poste ouvre samedi", "fr"),
    ("alguem sabe se o correio abre sabado", "pt"),
    ("kuna mtu anajua kama posta iko wazi jumamosi", "sw"),
    ("eske yon moun konnen si lapos louvri samdi", "ht"),
])
def test_a_routine_question_is_no_emergency(text, language):
    result = triage(text)
    assert not result.emergency
    assert result.language == language


@pytest.mark.parametrize(("text", "language"), [
    ("the stream behind the school is roaring brown water and it is over the step into the classroom", "en"),
    ("el arroyo detras de la escuela ruge con agua cafe y ya se mete al salon", "es"),
    ("o corrego atras da escola ta roncando com agua barrenta e ja entra na sala", "pt"),
])
def test_water_that_the_rules_read_as_a_hazard_is_no_water_request(text, language):
    result = triage(text)
    assert (result.emergency, result.category, result.language) == (True, "flood", language)


@pytest.mark.parametrize("text", [
    "meu tio caiu no quintal, ta respirando mas nao fala nada",  # Somali "mas" is a snake
    "minha tia ta respirando mas nao abre os olhos",
])
def test_a_guest_language_word_in_a_message_clearly_in_another_language_casts_no_vote(text):
    result = triage(text)
    assert (result.emergency, result.language) == (True, "pt")
    assert result.topic != "snake_bite"
