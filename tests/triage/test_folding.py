"""evy.folding: the one text folding behind triage, the contraindication check and the eval set."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from evy import folding
from evy.evaluate.folding import fold as eval_fold
from evy.evaluate.folding import fold_pattern
from evy.protocols.safety import fold as safety_fold
from evy.triage.normalize import fold as triage_fold


@given(st.text(max_size=40))
def test_folding_is_plain_lower_case_and_stable(text):
    folded = folding.fold(text)
    assert folding.fold(folded) == folded
    assert folded == folded.lower()
    assert not any(unicodedata.combining(char) for char in folded)


@given(st.text(alphabet="aeioun AEIOUN'’ßÆØŒŁĐıáéíóúãõçñÁÉÍÓÚÑ", max_size=30))
def test_the_three_matchers_fold_letters_alike(text):
    letters = folding.fold(folding.APOSTROPHES.sub(" ", text))
    assert triage_fold(text).replace("'", " ").replace("’", " ") == letters
    assert " ".join(safety_fold(text.replace("n'", "n ").replace("n’", "n ")).split()) == " ".join(letters.split())
    assert " ".join(eval_fold(text.replace("n'", "n ").replace("n’", "n ")).split()) == " ".join(letters.split())


def test_letters_nfkd_keeps_are_spelled_plainly_in_text_and_patterns():
    assert folding.fold("Straße ÆØŒ Łódź Đakovo ılık") == "strasse aeooe lodz dakovo ilik"
    assert eval_fold("Cœur") == "coeur" and fold_pattern("cœur") == "coeur"
    assert safety_fold("Don't put ÍCE on it; l'eau") == "dont put ice on it; l eau"
