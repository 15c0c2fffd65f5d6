"""The must_not check forgives "no need to wait", in every language's own words for it."""

from __future__ import annotations

import pytest

from evy.protocols.library import contraindications

MISSING = ("lost_child", "missing_person")


@pytest.mark.parametrize(("language", "text"), [
    ("en", "There is no need to wait 24 hours: tell the police now."),
    ("en", "Needless to wait 24 hours."),
    ("es", "No hace falta esperar 24 horas: avise a la policía ya."),
    ("es", "No es necesario esperar 24 horas."),
    ("fr", "Inutile d'attendre 24 heures : prévenez la police."),
    ("fr", "Pas besoin d'attendre 24 heures."),
    ("pt", "Não é preciso esperar 24 horas: avise a polícia."),
    ("pt", "Não é necessário esperar 24 horas."),
    ("sw", "Hakuna haja ya kusubiri saa 24."),
    ("sw", "Si lazima kusubiri saa 24."),
    ("ht", "Pa bezwen tann 24 è."),
    ("ht", "Pa nesesè pou tann 24 è."),
])
def test_no_need_to_wait_is_not_a_contraindication(language: str, text: str) -> None:
    assert contraindications(text, language, MISSING) == []


@pytest.mark.parametrize(("language", "text"), [
    ("fr", "Attendez 24 heures avant de prévenir."),
    ("fr", "Inutile d'appeler, mais attendez 24 heures."),
    ("pt", "Espere 24 horas antes de avisar."),
    ("pt", "Não é preciso correr, e espere 24 horas."),
])
def test_waiting_advice_is_still_caught(language: str, text: str) -> None:
    assert contraindications(text, language, MISSING) != []
