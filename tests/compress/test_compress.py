"""The compressor: GSM-7 on purpose, the budget always kept, numbers and steps never altered or cut."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evy.compress import compress, needs_ucs2, to_gsm7
from evy.compress.errors import CompressError
from evy.compress.packer import units
from evy.sms import gsm7
from evy.sms.message import Encoding
from evy.sms.segments import count

CORPUS = tomllib.loads((Path(__file__).parent / "data" / "long_answers.toml").read_text("utf-8"))["answer"]
NUMBER = re.compile(r"\d+")
STEP_LINE = re.compile(r"^(\d{1,2})\. ", re.MULTILINE)


@pytest.mark.parametrize(("text", "expected"), [
    ("“Call” – now…", '"Call" - now...'),
    ("it’s 40°C", "it's 40C"),
    ("não, ação, señor, café", "nao, acao, señor, café"),  # ñ and é are GSM-7 and stay
    ("take ½ tablet\tnow 🙏", "take 1/2 tablet now "),
    ("call ١١٢", "call 112"),  # Arabic-Indic digits keep their value
])
def test_transliteration(text, expected):
    assert to_gsm7(text) == expected


def test_needs_ucs2_only_for_scripts_gsm7_cannot_carry():
    assert needs_ucs2("Помогите, пожар")
    assert needs_ucs2("مساعدة")
    assert not needs_ucs2("socorro, não respira 😭")
    assert not needs_ucs2("“help” — fire…")


def test_curly_quote_no_longer_forces_ucs2():
    text = "Don’t move him. " * 8  # 128 characters: UCS-2 takes 2 SMS, GSM-7 one
    assert count(text) == (Encoding.UCS2, 2)
    result = compress(text, max_segments=3, language="en")
    assert result.encoding is Encoding.GSM7 and result.segments == 1 and result.segments_saved == 1


def test_keep_ucs2_keeps_the_senders_script():
    text = "Вызовите 112. Не двигайте пострадавшего."
    result = compress(text, keep_ucs2=True)
    assert result.encoding is Encoding.UCS2 and result.text == text
    assert compress(text).encoding is Encoding.GSM7
    latin = compress("Não se mova. Ligue 192 já — “agora”.", keep_ucs2=True)
    assert latin.encoding is Encoding.GSM7 and latin.text == 'Nao se mova. Ligue 192 ja - "agora".'


def test_fillers_go_and_abbreviations_only_when_they_save_a_segment():
    short = compress("I hope this helps! Please call 112 and wait for 10 minutes.", language="en")
    assert short.text == "Call 112 and wait for 10 minutes."  # fits one SMS: no abbreviation needed
    long = "Call 112 and wait for 10 minutes with the injured person. " * 4
    assert "min" in compress(long, language="en").text


def test_packing_keeps_steps_and_numbers_and_drops_chatter_first():
    chatter = "This is an extremely stressful situation for everyone involved in it. " * 6
    text = chatter + "\n1. Call 112.\n2. Press on the wound for 10 minutes.\n3. Keep them warm."
    result = compress(text, max_segments=1, language="en")
    assert result.segments == 1 and result.dropped > 0
    assert STEP_LINE.findall(result.text) == ["1", "2", "3"]
    assert "112" in result.text and "10 min" in result.text


def test_a_single_oversized_sentence_is_cut_at_a_word_with_a_mark():
    text = " ".join(["emergency"] * 60)
    result = compress(text, max_segments=1)
    assert result.segments == 1 and result.text.endswith("..")
    assert {word.lower() for word in result.text.removesuffix("..").split()} == {"emergency"}


def test_units_split_steps_whole_and_sentences():
    assert units("Hello there. 1. Do this. And that. 2. Then go!") == [
        "Hello there.", "1. Do this. And that.", "2. Then go!"]


@pytest.mark.parametrize("budget", [0, 11, "3"])
def test_bad_budget_is_a_clear_error(budget):
    with pytest.raises(CompressError, match="max_segments"):
        compress("text", max_segments=budget)


@pytest.mark.parametrize("answer", CORPUS, ids=lambda a: f"{a['language']}-{a['text'][:20]}")
def test_corpus_answer_fits_three_sms_with_every_step_and_number(answer):
    result = compress(answer["text"], max_segments=3, language=answer["language"])
    assert result.segments <= 3 and result.encoding is Encoding.GSM7
    assert STEP_LINE.findall(result.text) == STEP_LINE.findall(answer["text"])
    assert not Counter(NUMBER.findall(to_gsm7(answer["text"]))) - Counter(NUMBER.findall(result.text))


def test_corpus_saves_at_least_45_percent_of_segments():
    naive = sum(count(answer["text"])[1] for answer in CORPUS)
    packed = sum(compress(a["text"], language=a["language"]).segments for a in CORPUS)
    assert packed <= naive * 0.55, (naive, packed)


# --- properties -----------------------------------------------------------------------------------------

_WORDS = st.sampled_from(["water", "fire", "help", "people", "bridge", "north", "quickly", "blanket",
                          "Call", "Press", "wound", "road", "village", "school", "ok", "river"])
_TOKEN = st.one_of(_WORDS, st.integers(0, 99999).map(str), st.sampled_from([".", ",", "!", "?", "\n", "1.",
                                                                             "2)", "—", "“", "”", "😀"]))
_SENTENCES = st.lists(_TOKEN, min_size=1, max_size=250).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=1200), st.integers(1, 4))
def test_any_text_comes_out_gsm7_within_budget(text, budget):
    result = compress(text, max_segments=budget)
    assert result.encoding is Encoding.GSM7 and gsm7.is_gsm7(result.text)
    assert result.segments == count(result.text)[1] <= budget
    assert result.chars_saved == len(text) - len(result.text)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=600), st.integers(1, 3))
def test_keep_ucs2_stays_within_budget(text, budget):
    result = compress(text, max_segments=budget, keep_ucs2=True)
    assert result.segments == count(result.text)[1] <= budget


@settings(max_examples=150, deadline=None)
@given(_SENTENCES, st.integers(1, 3))
def test_never_cuts_a_word_and_never_alters_a_number(text, budget):
    result = compress(text, max_segments=budget, language="en")
    source_words = set(re.findall(r"[A-Za-z]+", text)) | {"ok"}
    for word in re.findall(r"[A-Za-z]+", result.text):
        assert word in source_words or word.lower() in source_words or word.capitalize() in source_words, word
    assert not Counter(NUMBER.findall(result.text)) - Counter(NUMBER.findall(text))


@settings(max_examples=100, deadline=None)
@given(_SENTENCES)
def test_everything_is_kept_when_the_budget_allows(text):
    plain = compress(text, max_segments=10, language="en")
    if plain.dropped == 0:
        assert Counter(NUMBER.findall(plain.text)) == Counter(NUMBER.findall(text))
