"""Local information: topic matching in every language, facts with an expiry in a real store."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evy.localinfo import TOPICS, LocalInfoError, local_answer, matched_topics
from evy.localinfo.answer import remove_fact, set_fact, update_fact
from evy.localinfo.topics import tokens, vocabularies
from evy.store import Store
from evy.store import localinfo as store_localinfo
from evy.triage import LANGUAGES

NOW = 1_800_000_000.0
DAY = 86400.0


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "evy.db") as opened:
        yield opened


@pytest.mark.parametrize(("text", "topics"), [
    ("where is the nearest shelter?", ["shelter"]), ("When is the food distribution", ["food"]),
    ("is the clinic open today", ["clinic"]), ("Is the road to Kisumu open?", ["roads"]),
    ("¿Dónde hay agua potable?", ["water"]), ("Où est le point d'eau ?", ["water"]),
    ("ki kote abri a ye", ["shelter"]), ("wapi maji safi", ["water"]), ("Onde fica o abrigo?", ["shelter"]),
    ("hospitali iko wazi saa ngapi", ["clinic"]), ("hola, en abril", []), ("hello", []),
    ("where can we sleep tonight and get food", ["food"]),
    ("where to sleep and is there water", ["shelter", "water"]),
])
def test_topics_are_found_in_every_language(text, topics):
    assert matched_topics(text) == topics


def test_every_language_the_responder_speaks_has_words_for_every_topic():
    assert set(LANGUAGES) <= set(vocabularies())
    for vocabulary in vocabularies().values():
        assert set(vocabulary.labels) == set(TOPICS) and all(vocabulary.patterns[t] for t in TOPICS)
        assert "{ago}" in vocabulary.updated


@given(st.text(max_size=200))
def test_matching_any_text_never_fails_and_names_only_known_topics(text):
    assert set(matched_topics(text)) <= set(TOPICS)


@given(st.sampled_from([(p, t) for v in vocabularies().values() for t in TOPICS for p in v.patterns[t]]),
       st.sampled_from(["", "where is the ", "¿", "ou est "]), st.sampled_from(["", "?", " today please", "!"]))
def test_every_word_of_a_topic_is_found_in_a_sentence(entry, before, after):
    pattern, topic = entry
    assert topic in matched_topics(before + " ".join(pattern.words) + after)


@given(st.text(max_size=60))
def test_tokens_are_plain_lower_case_words(text):
    assert all(token.isascii() and token.isalnum() and token == token.lower() for token in tokens(text))


def test_facts_expire_and_say_how_long_ago_they_were_updated(store):
    set_fact(store, "shelter", "St Mary's school, open day and night", NOW + DAY, updated_by="op", now=NOW - 3 * 3600)
    set_fact(store, "water", "Truck at the market 9-12", NOW + 60, now=NOW - 600)
    assert local_answer(store, "where is the shelter", "en", NOW) == \
        "Shelter: St Mary's school, open day and night (updated 3 h ago)"
    assert local_answer(store, "wapi maji safi", "sw", NOW) == \
        "Maji: Truck at the market 9-12 (imesasishwa 10 min iliyopita)"
    assert local_answer(store, "wapi maji safi", "sw", NOW + 61) is None  # expired
    assert local_answer(store, "is the clinic open", "en", NOW) is None  # nothing set for that topic
    assert local_answer(store, "hello", "en", NOW) is None


def test_a_fact_in_the_senders_language_replaces_the_one_for_everyone(store):
    set_fact(store, "food", "Distribution at the stadium, 10:00", NOW + DAY, now=NOW)
    set_fact(store, "food", "Reparto en el estadio, 10:00", NOW + DAY, language="es", now=NOW)
    assert local_answer(store, "donde hay comida", "es", NOW) == \
        "Comida: Reparto en el estadio, 10:00 (actualizado hace 0 min)"
    assert local_answer(store, "where is food", "en", NOW).startswith("Food: Distribution at the stadium")
    assert local_answer(store, "ou manger", "fr", NOW).startswith("Nourriture: Distribution at the stadium")


def test_update_and_remove(store):
    fact = set_fact(store, "roads", "Bridge on the A104 closed", NOW + DAY, now=NOW - 7200)
    update_fact(store, fact, "Bridge on the A104 open again, one lane", NOW + 2 * DAY, updated_by="op2", now=NOW)
    assert local_answer(store, "is the bridge open", "en", NOW) == \
        "Roads: Bridge on the A104 open again, one lane (updated 0 min ago)"
    assert store_localinfo.get(store, fact).updated_by == "op2"
    remove_fact(store, fact)
    assert store_localinfo.listing(store) == []
    with pytest.raises(LocalInfoError, match="no local information"):
        remove_fact(store, fact)


@pytest.mark.parametrize(("topic", "text", "expires", "language", "problem"), [
    ("weather", "sunny", NOW + DAY, "", "unknown topic"),
    ("food", "   ", NOW + DAY, "", "empty"),
    ("food", "x" * 301, NOW + DAY, "", "at most 300"),
    ("food", "rice", NOW - 1, "", "in the past"),
    ("food", "rice", NOW + DAY, "de", "unknown language"),
])
def test_bad_facts_are_refused_with_a_reason(store, topic, text, expires, language, problem):
    with pytest.raises(LocalInfoError, match=problem):
        set_fact(store, topic, text, expires, language=language, now=NOW)
    assert store_localinfo.listing(store) == []
