"""Triage against the shipped language files: categories, topics, priorities and languages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evy.messages import Priority
from evy.triage import CATEGORIES, LANGUAGES, Triage, triage
from evy.triage.errors import LexiconError
from evy.triage.lexicon import compile_lexicon, default_lexicon

LT = Priority.LIFE_THREATENING
EM = Priority.EMERGENCY
RT = Priority.ROUTINE

# text, emergency, category, priority, language, topic
CASES = [
    # English, incl. SMS spelling
    ("my son fell through ice not breathing", True, "medical", LT, "en", "drowning"),  # 5 breaths first
    ("pls hlp", True, "other", EM, "en", None),
    ("SOS", True, "other", EM, "en", None),
    ("HELPPP my husband is bleding a lot", True, "medical", LT, "en", "bleeding"),
    ("he is chocking on food", True, "medical", LT, "en", "choking"),
    ("my mom is unconcious", True, "medical", LT, "en", None),
    ("how do i purify water", False, "water_food", RT, "en", None),
    ("where is the nearest shelter", False, "shelter", RT, "en", None),
    ("house on fire kids inside", True, "fire", LT, "en", None),
    ("fire in my kitchen what do i do", True, "fire", EM, "en", None),
    ("trapped under rubble after the quake", True, "trapped", LT, "en", None),
    ("tornado coming", True, "storm", EM, "en", None),
    ("gas leak in the street", True, "hazmat", EM, "en", "gas_leak"),
    ("my daughter is missing since this morning", True, "missing_person", EM, "en", None),
    ("water is rising we are on the roof", True, "flood", LT, "en", None),
    ("man with a gun shooting at the market", True, "violence", LT, "en", None),
    ("bitten by a snake on the leg", True, "medical", EM, "en", "snake_bite"),
    ("wife in labour contractions every 3 min", True, "medical", EM, "en", "childbirth"),
    ("face drooping and slurred speech", True, "medical", LT, "en", "stroke"),
    ("bee sting throat swelling", True, "medical", LT, "en", "allergic_reaction"),
    ("my kid is having a seizure", True, "medical", LT, "en", "seizure"),
    ("diabetic friend shaky low sugar", True, "medical", EM, "en", "low_blood_sugar"),
    ("child drank kerosene", True, "medical", EM, "en", "poisoning"),
    ("hiker shivering badly hypotermia", True, "medical", EM, "en", "hypothermia"),
    ("worker collapsed heat stroke", True, "medical", LT, "en", "heat_stroke"),
    ("my dad has a broken leg", True, "medical", EM, "en", "fracture"),
    ("how do i treat a burn", False, "medical", RT, "en", "burns"),
    ("hello", False, None, RT, "en", None),
    ("my phone is fine thanks", False, None, RT, "en", None),
    ("asthma attack cant breathe", True, "medical", LT, "en", None),
    ("dog attack on my son", True, "medical", EM, "en", None),
    ("the bridge collapsed", True, "trapped", EM, "en", None),
    ("someone broke into my house", True, "violence", EM, "en", None),
    ("help me find my son", True, "missing_person", EM, "en", None),
    ("shes having a baby", True, "medical", EM, "en", "childbirth"),
    ("hes diabetic and passed out", True, "medical", LT, "en", "low_blood_sugar"),  # unresponsive: nothing by mouth
    ("my friend overdosed", True, "medical", LT, "en", "poisoning"),
    ("my daughter is missing since this morning", True, "missing_person", EM, "en", None),
    # Spanish
    ("mi hijo se cayo al hielo y no respira", True, "medical", LT, "es", "cpr"),
    ("Ayúdenme!! Mi bebé no respira", True, "medical", LT, "es", "cpr"),
    ("ayudaa porfa", True, "other", EM, "es", None),
    ("como purifico el agua", False, "water_food", RT, "es", None),
    ("hay un incendio en mi casa, ninos adentro", True, "fire", LT, "es", None),
    ("mi esposo esta sangrando mucho", True, "medical", LT, "es", "bleeding"),
    ("se esta atragantando xfa", True, "medical", LT, "es", "choking"),
    ("terremoto, estamos atrapados", True, "trapped", LT, "es", None),
    ("hola", False, None, RT, "es", None),
    ("mi abuela tiene ataque al corazon", True, "medical", LT, "es", "heart_attack"),
    ("el rio se desbordo", True, "flood", EM, "es", None),
    ("la mordio una serpiente", True, "medical", EM, "es", "snake_bite"),
    # French
    ("mon fils est tombe dans la glace il ne respire plus", True, "medical", LT, "fr", "drowning"),
    ("au secours svp", True, "other", EM, "fr", None),
    ("comment purifier l'eau", False, "water_food", RT, "fr", None),
    ("il y a le feu chez moi, enfants dedans", True, "fire", LT, "fr", None),
    ("Mon mari saigne beaucoup", True, "medical", LT, "fr", "bleeding"),
    ("il s'étouffe", True, "medical", LT, "fr", "choking"),
    ("inondation l'eau monte on est sur le toit", True, "flood", LT, "fr", None),
    ("bonjour", False, None, RT, "fr", None),
    ("bonjour j'ai besoin d'eau", False, "water_food", RT, "fr", None),
    ("crise cardiaque", True, "medical", LT, "fr", "heart_attack"),
    # Portuguese
    ("meu filho caiu no gelo e nao respira", True, "medical", LT, "pt", "drowning"),
    ("socorro pfv", True, "other", EM, "pt", None),
    ("incêndio na minha casa, crianças dentro", True, "fire", LT, "pt", None),
    ("meu marido está sangrando muito", True, "medical", LT, "pt", "bleeding"),
    ("ele engasgou", True, "medical", LT, "pt", "choking"),
    ("ajuda, enchente, estamos no telhado", True, "flood", LT, "pt", None),
    ("minha filha sumiu", True, "missing_person", EM, "pt", None),
    ("olá", False, None, RT, "pt", None),
    ("meu pai desmaiou", True, "medical", LT, "pt", None),
    ("picada de cobra na perna", True, "medical", EM, "pt", "snake_bite"),
]


@pytest.mark.parametrize(("text", "emergency", "category", "priority", "language", "topic"), CASES)
def test_triage_cases(text, emergency, category, priority, language, topic):
    result = triage(text)
    assert (result.emergency, result.category, result.priority, result.language, result.topic) == (
        emergency, category, priority, language, topic)
    assert 0 <= result.confidence <= 1


def test_every_shipped_language_loads_and_covers_every_category_and_topic():
    lexicon = default_lexicon()
    assert set(lexicon.languages) == set(LANGUAGES)
    by_language: dict[str, set[str]] = {language: set() for language in LANGUAGES}
    for hits in [*lexicon.phrases.values(), *lexicon.stems.values()]:
        for hit in hits:
            if hit.kind in ("category", "critical", "topic") and hit.language in by_language:  # not guests
                by_language[hit.language].add(hit.name)
    expected = (set(CATEGORIES) - {"other"}) | set(lexicon.topics)
    for language, names in by_language.items():
        assert expected <= names, f"{language} lacks {sorted(expected - names)}"


def test_priorities_put_life_threats_first():
    assert triage("not breathing").priority < triage("tornado coming").priority < triage("hello").priority


def test_accents_case_and_stretching_do_not_matter():
    assert triage("INCENDIO!!!").category == triage("incêndio").category == "fire"
    assert triage("helllp").emergency


def test_adding_a_language_is_adding_a_file():
    italian = '''
language = "it"
markers = ["il", "mio", "non"]
distress = ["aiuto"]
life_threat = ["non respira"]
[topic.cpr]
category = "medical"
rank = 100
life_threatening = true
words = ["non respira"]
'''
    lexicon = compile_lexicon({"it": italian})
    result = triage("aiuto il mio bambino non respira", lexicon=lexicon)
    assert result == Triage(True, "medical", LT, "it", "cpr")


@pytest.mark.parametrize(("files", "message"), [
    ({"xx": 'language = "yy"'}, "`language` must be"),
    ({"xx": 'language = "xx"\n[category.volcano]\nwords = ["lava"]'}, "unknown category"),
    ({"xx": "language = "}, "not valid TOML"),
    ({"xx": 'language = "xx"\ndistress = "help"'}, "list of strings"),
])
def test_bad_language_file_is_a_clear_error(files, message):
    with pytest.raises(LexiconError, match=message):
        compile_lexicon(files)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_triages_without_error(text):
    result = triage(text)
    assert result.language in LANGUAGES
    assert result.category is None or result.category in CATEGORIES
    assert result.emergency == (result.priority <= Priority.EMERGENCY)
    if result.topic is not None:
        assert default_lexicon().topics[result.topic].category == result.category


def test_mentions_lists_every_topic_and_category_touched():
    from evy.triage import mentions

    found = mentions("my son fell through ice not breathing")
    assert {"cpr", "drowning", "hypothermia"} <= found.topics and "medical" in found.categories
    assert mentions("Clothes on fire").categories == {"fire"}
    assert not mentions("hello there").topics
