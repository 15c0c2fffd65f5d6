"""The shipped eval set and the loader's one-line errors for malformed sets."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evy.evaluate import EvalSetError, load, parse
from evy.evaluate.evalset import LANGUAGES
from evy.triage import CATEGORIES

SHIPPED = Path(__file__).resolve().parents[2] / "eval" / "messages.toml"

GOOD = """
[[message]]
id = "en-one"
lang = "en"
category = "fire"
emergency = true
text = "fire in kitchen"
must = [['{number}'], ['get out', 'leave']]
must_not = ['go back in']
"""


def test_shipped_set_covers_every_language_and_category():
    the_set = load(SHIPPED)
    assert len(the_set.cases) >= 60
    languages = Counter(case.lang for case in the_set.cases)
    assert set(languages) == set(LANGUAGES) and min(languages.values()) >= 10
    assert {case.category for case in the_set.cases} == set(CATEGORIES)
    assert len(the_set.quick()) == 12
    assert the_set.sources
    assert all(case.source for case in the_set.cases)
    assert sum(bool(case.must_not) for case in the_set.cases) >= 50


def test_shipped_messages_are_sms_style():
    for case in load(SHIPPED).cases:
        assert case.text.isascii(), f"{case.id}: SMS spelling has no accents"
        assert len(case.text) <= 160, case.id


def test_good_set_parses_and_folds_patterns():
    case = parse(GOOD + "source = 'x'\n").cases[0]
    assert case.id == "en-one" and case.emergency and case.must == (("{number}",), ("get out", "leave"))
    accented = parse(GOOD.replace("'go back in'", "'não'")).cases[0]
    assert accented.must_not == ("nao",)


def test_select_and_unknown_id():
    the_set = parse(GOOD)
    assert [case.id for case in the_set.select(["en-one"])] == ["en-one"]
    with pytest.raises(EvalSetError, match="no message with id 'nope'"):
        the_set.select(["nope"])


@pytest.mark.parametrize(("text", "expected"), [
    ("[[message]\n", "not valid TOML"),
    ("sources = []\n", "no [[message]] entries"),
    ("extra = 1\n" + GOOD, "unknown top-level key 'extra'"),
    ("sources = 'x'\n" + GOOD, "sources: expected a list of strings"),
    (GOOD.replace('id = "en-one"', 'id = "EN One"'), "id: expected lower-case letters"),
    (GOOD.replace('id = "en-one"\n', ""), "id: expected lower-case letters"),
    (GOOD + GOOD, "message 'en-one': id used twice"),
    (GOOD.replace('lang = "en"', 'lang = "de"'), "message 'en-one': lang: expected one of en, es, fr, pt"),
    (GOOD.replace('lang = "en"\n', ""), "message 'en-one': lang: missing"),
    (GOOD.replace('category = "fire"', 'category = "fires"'), "category: expected one of medical"),
    (GOOD.replace("emergency = true", 'emergency = "yes"'), "emergency: expected true or false"),
    (GOOD + "quick = 1\n", "quick: expected true or false"),
    (GOOD.replace('"fire in kitchen"', '"  "'), "text: expected a non-empty string"),
    (GOOD.replace('"fire in kitchen"', '"' + "x" * 500 + '"'), "text: 500 characters"),
    (GOOD.replace("must = [['{number}'], ['get out', 'leave']]", "must = []"), "must: expected a non-empty list"),
    (GOOD.replace("['get out', 'leave']", "[]"), "must[1]: expected a non-empty list of pattern strings"),
    (GOOD.replace("['get out', 'leave']", "['get (out']"), "must[1]: bad pattern 'get (out'"),
    (GOOD.replace("must_not = ['go back in']", "must_not = 'go back in'"), "must_not: expected a list"),
    (GOOD.replace("must_not = ['go back in']", "must_not = ['[a-']"), "must_not: bad pattern '[a-'"),
    (GOOD + "source = 3\n", "source: expected a string"),
    (GOOD + "colour = 'red'\n", "message 'en-one': unknown key 'colour'"),
    (GOOD.replace("'leave'", "'kitchen'"), "must[1]: pattern 'kitchen' matches the message itself"),
])
def test_malformed_set_is_a_one_line_error(text, expected):
    with pytest.raises(EvalSetError) as caught:
        parse(text, Path("bad.toml"))
    message = str(caught.value)
    assert expected in message
    assert message.startswith("bad.toml: ")
    assert "\n" not in message


def test_unreadable_file(tmp_path):
    with pytest.raises(EvalSetError, match="cannot read the eval set"):
        load(tmp_path / "missing.toml")
    (tmp_path / "latin1.toml").write_bytes(b"text = '\xe9'")
    with pytest.raises(EvalSetError, match="not UTF-8"):
        load(tmp_path / "latin1.toml")


_VALUES = st.recursive(st.one_of(st.text(max_size=30), st.integers(-5, 5), st.booleans()),
                       lambda inner: st.lists(inner, max_size=4), max_leaves=8)
_FIELDS = st.sampled_from(["id", "lang", "category", "emergency", "text", "must", "must_not", "quick", "source"])


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_FIELDS, _VALUES, max_size=9))
def test_any_field_values_load_or_fail_with_one_line(fields):
    body = "\n".join(f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in fields.items())
    try:
        the_set = parse(f"[[message]]\n{body}\n")
    except EvalSetError as exc:
        assert "\n" not in str(exc)
    else:
        assert len(the_set.cases) == 1


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_loads_or_fails_with_one_line(text):
    try:
        parse(text)
    except EvalSetError as exc:
        assert "\n" not in str(exc).strip()
