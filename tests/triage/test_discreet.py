"""Violence at home gets the discreet reply: a message with discreet or domestic cues (a watched phone, "only
text me", "he hit me again") is routed to `domestic_violence`, never to the violence text (run, hide, call the
police) or the general help text, which an abuser reading over the shoulder must not see. Written for these
tests only (in none of the corpus or lexicon files)."""

from __future__ import annotations

import pytest

from evy.messages import Priority
from evy.protocols import library
from evy.triage import triage
from evy.triage.classify import _combine, read
from evy.triage.lexicon import default_lexicon
from evy.triage.model import Scores, default_model

DISCREET = [
    # a watched phone and a blow, told without the lexicon's textbook words
    ("sorry for the short msgs, he goes through my phone. he kicked me this morning", "en"),
    ("he came back drunk, im hiding in the bedroom with the kids, do not call", "en"),
    ("perdona que escriba poco, el lee mis mensajes. hoy me pateo", "es"),
    ("desolee d'ecrire peu, il fouille mon telephone. il m'a donne des coups ce matin", "fr"),
    ("desculpa escrever pouco, ele mexe no meu celular. me chutou hoje cedo", "pt"),
    ("samahani naandika kidogo, anakagua simu yangu. amenipiga teke asubuhi", "sw"),
    ("eskize m ekri piti, li li telefon mwen. li ban m kout pye maten an", "ht"),
    # a weapon as well: still the discreet text; "nao me liga" (don't call me) is no calm "me liga"
    ("meu marido ta com uma faca gritando na cozinha, to escondida no banheiro, nao me liga", "pt"),
]


@pytest.mark.parametrize(("text", "language"), DISCREET)
def test_discreet_cues_get_the_discreet_reply(text, language):
    result = triage(text)
    assert result.emergency
    assert (result.category, result.topic, result.language) == ("violence", "domestic_violence", language)
    assert library.lookup(result.topic, result.language, "999").discreet


def test_violence_in_the_street_keeps_the_violence_text():
    result = triage("armed men are shooting in the market, we are lying on the floor")
    assert (result.emergency, result.category, result.topic) == (True, "violence", None)


@pytest.mark.parametrize("route", ["violence", "other"])
def test_the_discreet_text_wins_whatever_the_model_prefers_once_a_domestic_cue_is_found(route):
    """The model may prefer the violence text (or none) for a message with a domestic cue; the route is
    still the discreet one."""
    lexicon = default_lexicon()
    rule, seen, found = read("he threw me against the wall, he reads my phone", lexicon)
    classes = default_model().classes
    preferred = {key: (0.9 if key == route else 0.1 / (len(classes) - 1)) for key in classes}
    result = _combine(lexicon, rule, seen, found, Scores(0.95, preferred))
    assert (result.emergency, result.topic) == (True, "domestic_violence")
    assert result.priority is not Priority.ROUTINE


def test_without_a_domestic_cue_the_model_route_stands():
    lexicon = default_lexicon()
    rule, seen, found = read("men with guns are robbing the shops on our street", lexicon)
    classes = default_model().classes
    preferred = {key: (0.9 if key == "violence" else 0.1 / (len(classes) - 1)) for key in classes}
    assert _combine(lexicon, rule, seen, found, Scores(0.95, preferred)).topic is None
