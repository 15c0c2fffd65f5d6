"""A model answer is sent only when the retrieved passages back most of what it says."""

from hypothesis import given
from hypothesis import strategies as st

from evy.responder import vetting


def test_grounding_counts_content_words_found_in_the_sources():
    passage = "Switch off electricity at the main from a dry place."
    assert vetting.grounding("Switch off the electricity at the main.", [passage]) == 1.0
    assert vetting.grounding("Drink sugary tea slowly.", [passage]) == 0.0
    assert vetting.grounding("", [passage]) == 0.0


@given(st.text(max_size=200), st.lists(st.text(max_size=200), max_size=4))
def test_grounding_is_a_share(text, sources):
    assert 0.0 <= vetting.grounding(text, sources) <= 1.0
