"""A model answer that breaks the first aid of any condition the message may concern is never sent, even
when the retrieved passages say the same words (a passage about a cold night does not make warming safe for
someone with heat stroke)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evy.responder import vetting

NUMBER = "999"
FIRST_REPLY = "Emergency: call 999. Stay with them."
# (language, the protocol or fallback the message was about, a harmful sentence for a condition it covers)
HARMFUL = [
    ("en", "medical", "Wrap him in warm blankets and give him nothing to drink."),
    ("en", "heat_stroke", "Cover her with a warm blanket until help comes."),
    ("en", "fire", "Throw a bucket of water over the burning oil in the pan."),
    ("en", "hazmat", "Go inside and shut the windows, the generator can keep running."),
    ("en", "general", "Make the child vomit to get the poison out."),
    ("es", "medical", "Abriguelo con mantas calientes y no le de nada de beber."),
    ("fr", "fire", "Jetez de l'eau sur l'huile en feu dans la casserole."),
    ("pt", "medical", "Faca a crianca vomitar para tirar o veneno."),
]
FILLER = {
    "en": "Stay with the person and watch how they are while you wait for help to arrive.",
    "es": "Quedese con la persona y observe como esta mientras espera la ayuda.",
    "fr": "Restez avec la personne et surveillez son etat en attendant les secours.",
    "pt": "Fique com a pessoa e observe como ela esta enquanto espera a ajuda.",
}


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(HARMFUL), st.sampled_from(["before", "after", "alone"]))
def test_harmful_advice_is_refused_even_when_the_passages_say_it(case, where):
    language, about, harmful = case
    answer = {"before": f"{harmful} {FILLER[language]}", "after": f"{FILLER[language]} {harmful}",
              "alone": harmful}[where]
    reason = vetting.reject_reason(answer, language=language, first_reply=FIRST_REPLY,
                                   passages=[answer, FILLER[language]], emergency_number=NUMBER, about=(about,))
    assert reason is not None and reason.startswith("contraindicated"), (answer, reason)


@pytest.mark.parametrize("language", sorted(FILLER))
def test_plain_safe_advice_still_passes(language):
    answer = f"{FILLER[language]} {NUMBER}."
    assert vetting.reject_reason(answer, language=language, first_reply=FIRST_REPLY, passages=[FILLER[language]],
                                 emergency_number=NUMBER, about=("general",)) is None
