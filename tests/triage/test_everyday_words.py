"""Patterns from batch 9 (SMS by writers who saw neither the rules nor the corpus), fixed by pattern, not by
message: each case here is worded for this test only, none is a corpus message."""

from __future__ import annotations

import pytest

from evy.triage import triage


@pytest.mark.parametrize(("text", "language"), [
    ("where can we pick up tarps and mattresses, please help", "en"),
    ("donde dan colchonetas y lonas?? ayuda por favor", "es"),
    ("ou est ce qu on recoit les bidons d eau, aidez nous svp", "fr"),
    ("me ajuda a saber onde pega cesta basica no bairro", "pt"),
])
def test_asking_where_a_need_is_met_is_no_emergency_even_with_help_in_it(text, language):
    result = triage(text)
    assert not result.emergency, result
    assert result.language == language


@pytest.mark.parametrize("text", [
    "somebody on facebook said the dam will burst tonight, true?",
    "dicen en el whatsapp que va a temblar fuerte manana",
    "has the mudslide on the coast road been cleared yet",
    "la route est rouverte apres l eboulement de la semaine?",
    "my daughter touched the iron, a small burn, just red, what cream",
])
def test_rumours_aftermath_questions_and_minor_care_are_no_emergency(text):
    assert not triage(text).emergency


@pytest.mark.parametrize(("text", "routes"), [
    # a lost child told without "lost"
    ("my boy 5 yrs was holding my hand at the market and now hes not with me", {"lost_child"}),
    # ground sliding, in everyday Swahili
    ("kilima nyuma ya shule kimeanza kuteleza, udongo mwekundu unashuka kwa nyumba", {"landslide"}),
    # warning signs of suicide, without the word
    ("my sister gave away her phone and says we wont need to worry about her anymore, she has a rope",
     {"mental_health"}),
    # a charcoal brazier in a shut room
    ("pusimos el brasero en el cuarto y ahora la abuela no se levanta y vomita", {"carbon_monoxide"}),
    # shaking walls again with someone still inside: the earthquake, not a fire
    ("the floor moved again and the crack got bigger, my dad is still inside", {"earthquake"}),
    # the sea pulling back
    ("the sea pulled way back past the rocks and the boats are on the sand", {"tsunami"}),
    # a chest on fire is a heart, not a fire
    ("his chest is on fire and it goes to his left arm, sweating a lot", {"heart_attack"}),
    # a bottle of weed killer
    ("my toddler drank from a bottle of weed killer", {"poisoning"}),
])
def test_everyday_words_find_the_situation(text, routes):
    result = triage(text)
    assert result.emergency, result
    assert (result.topic or result.category) in routes, result


INFLECTED = '''language = "sw"
markers = ["na"]
life_threat = ["amezimia"]
[inflection]
persons = ["a", "wa"]
tenses = ["me", "na", "li"]
[category.medical]
words = ["walizimia"]
'''


def test_a_verb_listed_for_one_person_and_tense_matches_the_others():
    from evy.messages import Priority
    from evy.triage.lexicon import compile_lexicon

    lexicon = compile_lexicon({"sw": INFLECTED})
    assert triage("wamezimia", lexicon=lexicon).priority is Priority.LIFE_THREATENING
    assert triage("alizimia", lexicon=lexicon).priority is Priority.LIFE_THREATENING
    # a form the file lists on its own keeps its own meaning
    own = triage("walizimia", lexicon=lexicon)
    assert (own.category, own.priority) == ("medical", Priority.EMERGENCY)


@pytest.mark.parametrize("text", [
    "wazee wawili wamezimia kambini na hawaamki",
    "watoto watatu wamesombwa na maji ya mto sasa hivi",
])
def test_swahili_plural_and_past_forms_are_read(text):
    assert triage(text).emergency


def test_a_cue_keeps_its_tense():
    from evy.triage.lexicon import compile_lexicon

    lexicon = compile_lexicon({"sw": 'remote = ["alisema"]\n' + INFLECTED})
    assert not triage("alisema amezimia", lexicon=lexicon).emergency  # he said: news
    assert triage("anasema amezimia", lexicon=lexicon).emergency  # he says: now


@pytest.mark.parametrize("text", [
    "there is smoke behind the hill and the wind is turning our way, should we leave?",
    "el agua del rio ya entro al patio, nos vamos ya o esperamos?",
    "moshi unakaribia kijiji chetu, tuondoke sasa?",
])
def test_asking_whether_to_leave_a_hazard_in_view_is_an_emergency(text):
    assert triage(text).emergency


@pytest.mark.parametrize("text", [
    "mi abuela dijo que ya no quiere vivir y se encerro en el cuarto con las pastillas",
    "dada alisema hawezi kupumua vizuri na midomo ni bluu",
    "minha mae disse que ta com uma dor forte no peito que vai pro braco",
    "m tande mi yo ap fann e kay la ap souke, nou toujou anndan",
])
def test_what_the_person_at_risk_said_or_what_the_sender_hears_is_no_news(text):
    # "she said that..." reports the person in danger and "I hear the walls cracking" is here and now;
    # hearsay is plural or impersonal ("they say", "dicen que", "yo di")
    assert triage(text).emergency


@pytest.mark.parametrize("text", [
    "at the football match a boy collapsed and is not breathing",
    "the goat kicked my son in the head and now he wont wake up",
    "la chevre a donne un coup a mon fils, il ne respire plus",
    "mbuzi walikuwa wanakula, mtoto ameanguka hapumui",
    "thank you, she is still not breathing, what now",
])
def test_chat_around_a_sign_of_a_life_at_stake_does_not_calm_it(text):
    assert triage(text).emergency


@pytest.mark.parametrize("text", [
    "thanks, he passed out for a minute but he is fine now",  # the danger is over
    "dying of laughter at this movie",  # a calm phrase covers its "dying"
    "jajaja ese partido estuvo de infarto",
    "our goat fell in the well, can someone help pull it out",
])
def test_a_danger_that_is_over_or_only_a_figure_of_speech_stays_calm(text):
    assert not triage(text).emergency
