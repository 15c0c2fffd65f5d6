"""The hybrid index on the shipped knowledge base: FTS5 alone, FTS5 + sqlite-vec with the real embedder."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evy.rag import Index, Passage, RagError, build, open_index
from evy.rag.index import fts_query
from evy.rag.sqlite import connect, driver, has_fts5


def test_the_connection_has_fts5_and_sqlite_vec(tmp_path):
    db = connect(tmp_path / "x.sqlite")
    assert has_fts5(db)
    assert db.execute("SELECT vec_version()").fetchone()[0].startswith("v")
    assert hasattr(driver().Connection, "enable_load_extension")
    db.close()


def test_fts_query_keeps_content_words_as_prefixes():
    assert fts_query("My son is BLEEDING from the leg, pls help!!") == '"son"* OR "bleed"* OR "leg"*'
    assert fts_query("hemorragia") == '"hemorra"*'
    assert fts_query("the and pls") is None
    assert fts_query('"; DROP TABLE passages; -- NEAR(* OR') == '"drop"* OR "tabl"* OR "passa"* OR "near"*'


@pytest.fixture(scope="module")
def keyword_index(tmp_path_factory, chunks):
    path = tmp_path_factory.mktemp("fts") / "kb.sqlite"
    report = build(path, chunks, None)
    assert report.embed_model is None and report.passages == len(chunks)
    with Index.open(path) as index:
        yield index


@pytest.mark.parametrize(("query", "language", "expected"), [
    ("how to stop heavy bleeding", None, "en/bleeding"),
    ("snake bite", None, "en/bites"),
    ("earthquake", "en", "en/earthquake"),
    ("quemadura agua caliente", "es", "es/first_aid#5"),
    ("inondation", "fr", "fr/disasters#2"),
    ("engasgo bebe", "pt", "pt/first_aid#3"),
])
def test_keyword_search_alone_finds_the_right_passage(keyword_index, query, language, expected):
    found = keyword_index.search(query, k=3, language=language)
    assert found and found[0].key.startswith(expected), [p.key for p in found]
    assert all(isinstance(p, Passage) and p.source and p.score > 0 for p in found)


def test_a_language_without_matches_falls_back_to_all_languages(keyword_index):
    found = keyword_index.search("tourniquet", k=2, language="pt")
    assert found and found[0].language == "en"


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=80))
def test_any_message_text_is_searchable_without_error(keyword_index, text):
    found = keyword_index.search(text, k=3)
    assert len(found) <= 3


def test_nothing_relevant_means_no_passage(keyword_index):
    assert keyword_index.search("hello how are you", k=3) == []
    assert keyword_index.search("   ", k=3) == []


HYBRID_CASES = [
    ("my son fell through ice not breathing", None, {"en/drowning#2", "en/drowning#3", "en/cpr#3"}),
    ("someone collapsed and has no pulse", None, {"en/cpr#1", "en/cpr#2", "en/cpr#4"}),
    ("my friend is jerking on the floor", None, {"en/seizure#1"}),
    ("my husband hits me", "en", {"en/violence#2"}),
    ("we are stuck under a collapsed building", "en", {"en/trapped#1", "en/trapped#2"}),
    ("smoke everywhere in my flat", None, {"en/fire#1", "en/fire#2"}),
    ("meu pai esta com dor no peito", "pt", {"pt/first_aid#11"}),
    ("mi hijo se quemo con agua hirviendo", "es", {"es/first_aid#5"}),
]


@pytest.mark.slow
@pytest.mark.parametrize(("query", "language", "expected"), HYBRID_CASES)
def test_hybrid_search_finds_paraphrased_emergencies(hybrid_index_path, embedder, query, language, expected):
    with Index.open(hybrid_index_path, embedder) as index:
        assert index.meta["embed_model"] == "all-minilm-l6-v2" and index.meta["dimensions"] == "384"
        found = [p.key for p in index.search(query, k=3, language=language)]
    assert expected & set(found), found


@pytest.mark.slow
def test_vectors_find_what_keywords_miss(hybrid_index_path, embedder, keyword_index):
    query = "grandpa talks funny and his mouth is crooked"
    assert "en/stroke#1" not in [p.key for p in keyword_index.search(query, k=3)]
    with Index.open(hybrid_index_path, embedder) as index:
        assert index.search(query, k=3)[0].key == "en/stroke#1"


def test_open_index_builds_once_then_reuses_and_rebuilds_when_the_kb_changes(tmp_path, chunks, config_for):
    config = config_for(tmp_path, rag__embed_model="")
    index = open_index(config, chunks[:10])
    assert index is not None and index.passages == 10 and index.embedder is None
    built = index.meta["built_at"], index.path.stat().st_mtime_ns
    index.close()
    with open_index(config, chunks[:10]) as again:
        assert (again.meta["built_at"], again.path.stat().st_mtime_ns) == built
    with open_index(config, chunks[:12]) as rebuilt:
        assert rebuilt.passages == 12


def test_an_empty_knowledge_base_disables_retrieval(tmp_path, config_for, caplog):
    with caplog.at_level(logging.WARNING, logger="evy.rag"):
        assert open_index(config_for(tmp_path, rag__embed_model=""), []) is None
    assert "no passages" in caplog.text


def test_disabled_retrieval_is_none(tmp_path, config_for):
    assert open_index(config_for(tmp_path, rag__enabled=False)) is None


def test_an_unusable_embedder_still_gives_keyword_search(tmp_path, chunks, config_for, caplog):
    config = config_for(tmp_path, rag__embed_model="no-such-embedder")
    with caplog.at_level(logging.WARNING), open_index(config, chunks) as index:
        assert index.embedder is None and index.search("snake bite", k=1)[0].key == "en/bites#1"
    assert "keywords only" in caplog.text


def test_a_file_that_is_not_an_index_is_refused(tmp_path):
    (tmp_path / "kb.sqlite").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(RagError, match=r"not a knowledge-base index|cannot open"):
        Index.open(tmp_path / "kb.sqlite")


def test_keyword_retrieval_quality_on_the_labelled_questions(keyword_index):
    from evy.rag.relevance import hit_rates, labelled_queries

    rates = hit_rates(keyword_index, labelled_queries())
    assert rates["queries"] >= 50 and rates["hit_at_3"] >= 0.95, rates


@pytest.mark.slow
def test_hybrid_retrieval_quality_on_the_labelled_questions(hybrid_index_path, embedder, keyword_index):
    from evy.rag.relevance import hit_rates, labelled_queries

    queries = labelled_queries()
    with Index.open(hybrid_index_path, embedder) as index:
        hybrid = hit_rates(index, queries)
    keyword = hit_rates(keyword_index, queries)
    assert hybrid["hit_at_1"] >= 0.9 and hybrid["hit_at_3"] >= 0.95, hybrid
    assert hybrid["hit_at_1"] >= keyword["hit_at_1"], (hybrid, keyword)


def test_an_unwritable_index_location_is_a_rag_error(tmp_path, chunks):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(RagError, match="cannot write the knowledge-base index"):
        build(blocker / "kb.sqlite", chunks[:3], None)
