"""Patterns from batch 10 (ground movement in six languages and Swahili, by a writer blind to the rules),
fixed by pattern, not by message: each case here is worded for this test only, none is a corpus message."""

from __future__ import annotations

import pytest

from evy.triage import triage


@pytest.mark.parametrize(("text", "language"), [
    # the building, the floor or a hanging lamp moving, told with everyday verbs
    ("the whole apartment is shaking right now and the lamp keeps swinging", "en"),
    ("our building is shaking again, the ceiling fan is swinging, 4th floor", "en"),
    ("volvio a temblar bien fuerte y el foco del techo se balancea", "es"),
    ("acaba de temblar otra vez, se cayeron los vasos", "es"),
    ("ta tremendo tudo de novo, o lustre ta balancando", "pt"),
    ("voltou a tremer agora pouco, as panelas cairam do armario", "pt"),
    ("nyumba imeanza kutetemeka tena, taa inayumba juu", "sw"),
    ("le lustre se balance et les verres tombent, ca recommence", "fr"),
])
def test_ground_moving_in_everyday_words_is_an_earthquake(text, language):
    result = triage(text)
    assert result.emergency, result
    assert result.category == "earthquake", result
    assert result.language == language


@pytest.mark.parametrize(("text", "language"), [
    # a water tank swinging on the roof is the building moving, not a flood
    ("the water tank on our roof is swinging and the walls are cracking", "en"),
    ("ardhi inayumba, tanki la maji juu ya paa linayumba na ukuta umepasuka", "sw"),
    ("a caixa d agua no telhado ta balancando e a parede rachou", "pt"),
])
def test_a_water_tank_in_a_quake_is_no_flood(text, language):
    result = triage(text)
    assert result.emergency, result
    assert result.category == "earthquake", result


@pytest.mark.parametrize("text", [
    # someone under a fallen roof or wall who stopped answering: the rescue, not only first aid
    "o telhado da igreja caiu e meu tio ta embaixo, nao responde mais",
    "a parede do vizinho caiu e a menina esta embaixo, nao fala",
    "se cayo la barda y mi sobrino quedo abajo, ya no contesta",
    "the shop roof came down and my cousin is under there, he stopped answering",
])
def test_someone_under_a_fallen_structure_is_trapped(text):
    result = triage(text)
    assert result.emergency, result
    assert result.category == "trapped", result


@pytest.mark.parametrize("text", [
    # a lost child is not settled by the chat word around it (a queue, a match)
    "mtoto wangu wa miaka 6 amepotea kwenye foleni ya maji, tumemtafuta saa mbili",
    "my boy 7 got lost at the football match, green shirt, searching 2 hours",
    "mi nina de 5 se perdio en el partido de futbol, la buscamos hace dos horas",
])
def test_a_lost_child_is_an_emergency_whatever_chat_surrounds_it(text):
    result = triage(text)
    assert result.emergency, result
    assert result.category == "missing_person", result


@pytest.mark.parametrize("text", [
    # Swahili verbs in the future tense (ta): "he will end his life"
    "kaka yangu amesema atamaliza maisha yake leo usiku, amegawa nguo zake zote",
    "rafiki ananitumia ujumbe kwamba atajiua leo",
    "nitamaliza maisha yangu leo, sioni sababu ya kuendelea",
])
def test_swahili_future_tense_of_self_harm_is_a_mental_health_emergency(text):
    result = triage(text)
    assert result.emergency, result
    assert result.topic == "mental_health", result


@pytest.mark.parametrize("text", [
    # past events and slang in Swahili: no emergency now
    "duka letu liliungua wiki jana, tunaomba msaada wa kujenga tena",
    "sherehe ya jana usiku ilikuwa moto kabisa",
    "ile mechi ilikuwa moto sana jana",
])
def test_swahili_past_events_and_fire_slang_are_no_emergency(text):
    assert not triage(text).emergency


@pytest.mark.parametrize("text", [
    # sheltering up a tree from the water, with a river's name between "water" and "rising"
    "the water of the Tana keeps rising, we climbed up a tree with the baby since last night",
    "el agua del rio Coatzacoalcos sube y estamos arriba del arbol con los ninos",
    "a agua do rio ta chegando, estamos em cima da arvore desde cedo",
    "tuko juu ya mti na watoto tangu asubuhi, maji ya mto Nzoia yanazidi",
    "nou sou pyebwa a ak timoun yo depi maten, dlo larivye a pa sispann",
])
def test_sheltering_up_a_tree_from_water_is_a_flood(text):
    result = triage(text)
    assert result.emergency, result
    assert result.category == "flood", result
