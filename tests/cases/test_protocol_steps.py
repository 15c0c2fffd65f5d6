"""Protocols two steps deep, message by message through the real triage and conversation code: CPR →
breathing → awake, bleeding → still bleeding → stopped, house fire → out → someone still inside, choking →
still stuck → out, flood → not high → up high, unconscious → still not awake → awake."""

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

CHOKING = [
    ("en", ["my son is choking on a sweet, cant breathe", "no", "it came out"], r"watch their breathing"),
    ("es", ["mi hijo se atraganta con un caramelo, no puede respirar", "no", "ya salió"], r"vigile su respiración"),
    ("fr", ["mon fils s'étouffe avec un bonbon, il ne peut pas respirer", "non", "c'est sorti"],
     r"surveillez sa respiration"),
    ("pt", ["meu filho está engasgado com uma bala, não consegue respirar", "não", "saiu"], r"observe a respiração"),
    ("sw", ["mtoto amekabwa na kitu kooni, hawezi kupumua", "hapana", "kimetoka"], r"angalia kupumua"),
    ("ht", ["pitit mwen toufe ak yon bonbon, li pa ka respire", "non", "li soti"], r"gade jan l ap respire"),
]
FLOOD = [
    ("en", ["flood water in our house", "no", "yes"], r"do not go into the water"),
    ("es", ["inundación en la casa", "no", "sí"], r"no entre al agua"),
    ("fr", ["inondation dans la maison", "non", "oui"], r"n'entrez pas dans l'eau"),
    ("pt", ["enchente em casa", "não", "sim"], r"não entre na água"),
    ("sw", ["mafuriko nyumbani", "hapana", "ndio"], r"usiingie majini"),
    ("ht", ["inondasyon nan kay la", "non", "wi"], r"pa antre nan dlo a"),
]
UNCONSCIOUS = [
    ("en", ["he fainted and wont wake up", "unconscious", "he woke up"], r"stay with them"),
    ("es", ["se desmayó y no despierta", "inconsciente", "se despertó"], r"quédese con él"),
    ("fr", ["il s'est évanoui, il ne se réveille pas", "inconscient", "il s'est réveillé"], r"restez avec lui"),
    ("pt", ["ele desmaiou e não acorda", "não acorda", "ele acordou"], r"fique junto"),
    ("sw", ["amezirai haamki", "hajitambui", "ameamka"], r"kaa naye"),
    ("ht", ["li endispoze li pa reveye", "li pa reponn", "li reveye"], r"rete avè l"),
]


@pytest.mark.parametrize(("language", "messages", "fact"), CHOKING, ids=[item[0] for item in CHOKING])
def test_choking_still_stuck_then_out(language: str, messages: list[str], fact: str) -> None:
    check(messages, "choking", ["", "no", "no/done"], fact, language)


@pytest.mark.parametrize(("language", "messages", "fact"), FLOOD, ids=[item[0] for item in FLOOD])
def test_flood_not_high_then_up_high(language: str, messages: list[str], fact: str) -> None:
    check(messages, "flood", ["", "no", "no/yes"], fact, language)


@pytest.mark.parametrize(("language", "messages", "fact"), UNCONSCIOUS, ids=[item[0] for item in UNCONSCIOUS])
def test_unconscious_breathing_then_awake(language: str, messages: list[str], fact: str) -> None:
    check(messages, "medical", ["", "unresponsive", "unresponsive/awake"], fact, language)
