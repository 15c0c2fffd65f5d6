"""Protocols two steps deep, message by message through the real triage and conversation code: CPR →
breathing → awake, bleeding → still bleeding → stopped, house fire → out → someone still inside."""

from __future__ import annotations

import re

import pytest

from evy.cases.dialogue import next_turn
from evy.cases.state import Case
from evy.protocols import library
from evy.triage import triage

NUMBER = "999"

# (language, messages, the step after each message, a fact the last reply must carry)
CPR = [
    ("en", ["my husband collapsed, he is not breathing", "he is breathing again", "he woke up and is talking"],
     r"side[^\n]*stay with them|[Nn]othing to eat or drink"),
    ("es", ["mi padre se cayó y no respira", "ya respira", "se despertó y habla"], r"quédese con él"),
    ("fr", ["mon père s'est effondré, il ne respire pas", "il respire", "il s'est réveillé, il parle"],
     r"restez avec lui"),
    ("pt", ["meu pai caiu e não respira", "voltou a respirar", "ele acordou e está falando"], r"fique junto"),
    ("sw", ["baba ameanguka hapumui", "anapumua sasa", "ameamka anaongea"], r"kaa naye"),
    ("ht", ["papa m tonbe li pa respire", "li respire kounya", "li reveye l ap pale"], r"rete avè l"),
]
BLEEDING = [
    ("en", ["deep cut on his arm, blood everywhere", "still bleeding through the cloth", "it stopped"],
     r"do not lift"),
    ("es", ["se cortó la pierna, sangra mucho", "sigue sangrando", "ya paró"], r"no los levante"),
    ("fr", ["il s'est coupé la jambe, ça saigne beaucoup", "ça saigne encore", "ça s'est arrêté"],
     r"ne les soulevez pas"),
    ("pt", ["cortou a perna com o facão, sangrando muito", "ainda sangra", "parou de sangrar"],
     r"não levante"),
    ("sw", ["amejikata mguu, damu nyingi inatoka", "bado damu inatoka", "damu imekoma"], r"usiviinue"),
    ("ht", ["li koupe janm li, l ap senyen anpil", "l ap toujou senyen", "san an kanpe"], r"pa leve yo"),
]
FIRE = [
    ("en", ["our house is on fire", "we are all out", "my brother is still inside"], r"Do NOT go back in"),
    ("es", ["se quema la casa, hay mucho humo", "ya salimos", "mi hermano sigue adentro"], r"NO vuelva a entrar"),
    ("fr", ["la maison brûle, il y a de la fumée", "on est sortis", "il reste mon frère dedans"],
     r"Ne retournez PAS"),
    ("pt", ["a casa está pegando fogo", "já saímos", "meu irmão ainda está lá dentro"], r"NÃO volte"),
    ("sw", ["nyumba yetu inaungua moto", "tumetoka", "kaka yangu bado yuko ndani"], r"USIRUDI ndani"),
    ("ht", ["kay la ap boule, gen lafimen", "nou soti", "frè m toujou anndan"], r"PA retounen anndan"),
]


def play(messages: list[str]) -> list[tuple[Case, str | None]]:
    case = Case(id=11, sender="+254700000011", opened_at=0.0, updated_at=0.0)
    seen = []
    for now, text in enumerate(messages, start=1):
        turn = next_turn(case, text, triage(text), number=NUMBER, now=float(now * 60))
        case = turn.case
        seen.append((case, turn.text))
    return seen


def check(messages: list[str], topic: str, steps: list[str], fact: str, language: str) -> None:
    seen = play(messages)
    assert [case.topic or case.category for case, _ in seen] == [topic] * len(messages)
    # An answer class that shares a sibling's step ("yes" for "done") records its own name: compare the steps.
    reached = [library.step(topic, filter(None, case.step.split("/")), language, NUMBER).instructions
               for case, _ in seen]
    assert reached == [library.step(topic, filter(None, step.split("/")), language, NUMBER).instructions
                       for step in steps]
    assert all(case.language == language for case, _ in seen)
    for _, text in seen:
        assert text is not None and NUMBER in text
    assert re.search(fact, seen[-1][1]), seen[-1][1]


@pytest.mark.parametrize(("language", "messages", "fact"), CPR, ids=[item[0] for item in CPR])
def test_cpr_breathing_then_awake(language: str, messages: list[str], fact: str) -> None:
    check(messages, "cpr", ["", "breathing", "breathing/awake"], fact, language)


@pytest.mark.parametrize(("language", "messages", "fact"), BLEEDING, ids=[item[0] for item in BLEEDING])
def test_bleeding_still_then_stopped(language: str, messages: list[str], fact: str) -> None:
    check(messages, "bleeding", ["", "continuing", "continuing/stopped"], fact, language)


@pytest.mark.parametrize(("language", "messages", "fact"), FIRE, ids=[item[0] for item in FIRE])
def test_fire_out_then_someone_inside(language: str, messages: list[str], fact: str) -> None:
    check(messages, "fire", ["", "done", "done/no"], fact, language)
