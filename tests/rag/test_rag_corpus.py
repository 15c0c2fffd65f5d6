"""The knowledge-base files: format, errors with file and line, and the shipped content."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evy.rag import corpus
from evy.rag.errors import KnowledgeBaseError

GOOD = """---
topic: burns
source: Public guidance A
---

## Cool the burn
Run cool water over it
for 20 minutes.

## Chemical burn
Keywords: acid, bleach on skin
Rinse for 20 minutes.
Source: Public guidance B
"""


def test_sections_become_passages_with_their_sources():
    first, second = corpus.parse_file(GOOD, "en", "burns.md")
    assert first == corpus.Chunk("en/burns#1", "en", "burns", "Cool the burn",
                                 "Run cool water over it for 20 minutes.", "Public guidance A")
    assert second.source == "Public guidance B" and second.key == "en/burns#2"
    assert second.keywords == "acid, bleach on skin" and second.text == "Rinse for 20 minutes." and not first.keywords


@pytest.mark.parametrize(("text", "message"), [
    ("## Title\ntext\n", r"x\.md:1: expected a front matter block"),
    ("---\ntopic: a\n", "front matter is not closed"),
    ("---\ncolour: red\n---\n", r"x\.md:2: expected 'topic: \.\.\.' or 'source: \.\.\.'"),
    ("---\ntopic: Bad Topic\nsource: s\n---\n## T\nx\n", "topic must be lower-case"),
    ("---\ntopic: a\nsource: s\n---\nstray text\n## T\nx\n", r"x\.md:5: text before the first ## section"),
    ("---\ntopic: a\n---\n## T\nbody\n", r"x\.md:4: section 'T' has no source"),
    ("---\ntopic: a\nsource: s\n---\n## T\n\n## U\nx\n", r"x\.md:5: section 'T' is empty"),
    ("---\ntopic: a\nsource: s\n---\n## T\n" + "word " * 200 + "\n", "has 999 characters, at most 700"),
    ("---\ntopic: a\nsource: s\n---\n", "no ## sections"),
])
def test_malformed_files_are_rejected_with_file_and_line(text, message):
    with pytest.raises(KnowledgeBaseError, match=message):
        corpus.parse_file(text, "en", "x.md")


line_text = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=60).map(
    str.strip).filter(lambda t: t and not t.startswith(("##", "Source:", "---")))


@given(st.lists(st.tuples(line_text, line_text, st.one_of(st.none(), line_text)), min_size=1, max_size=6))
def test_rendered_sections_parse_back(sections):
    text = "---\ntopic: t\nsource: default\n---\n" + "".join(
        f"\n## {title}\n{body}\n" + (f"Source: {source}\n" if source else "") for title, body, source in sections)
    chunks = corpus.parse_file(text, "en", "gen.md")
    assert [(c.title, c.text, c.source) for c in chunks] == [
        (title, body, source or "default") for title, body, source in sections]


def test_the_shipped_knowledge_base_covers_four_languages_with_sources(chunks):
    languages = {c.language for c in chunks}
    assert {"en", "es", "fr", "pt"} <= languages
    assert len({c.key for c in chunks}) == len(chunks)
    assert all(c.source and len(c.text) <= corpus.MAX_PASSAGE_CHARS for c in chunks)
    english_topics = {c.topic for c in chunks if c.language == "en"}
    assert {"cpr", "choking", "bleeding", "burns", "drowning", "fire", "flood", "earthquake", "hazmat",
            "trapped", "water_food", "shelter", "missing_person", "violence", "storm"} <= english_topics


def test_the_fingerprint_changes_with_any_passage(chunks):
    changed = [*chunks[:-1], corpus.Chunk(**{**chunks[-1].__dict__, "text": chunks[-1].text + "!"})]
    assert corpus.fingerprint(chunks) == corpus.fingerprint(list(chunks))
    assert corpus.fingerprint(changed) != corpus.fingerprint(chunks)
