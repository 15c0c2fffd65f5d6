"""The data file schema: strict, with one-line errors naming the file and the key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evy.protocols import ANSWER_CLASSES, answer_phrases, classify_answer, languages
from evy.protocols.errors import ProtocolError
from evy.protocols.library import load_language

ANSWERS = "\n".join(f'{answer} = ["{answer.replace("_", " ")}"]' for answer in ANSWER_CLASSES)
GOOD = f"""language = "xx"
[phrase]
call = "Call {{number}}."
[answer]
{ANSWERS}
[negation]
cues = ["not"]
resets = ["unless"]
[discreet]
must_not = ["danger"]
[protocol.cpr]
source = "a public source, long enough"
text = "Call {{number}}. Push on the chest."
question = "Breathing?"
must_not = ["stop pushing"]
[protocol.cpr.next.breathing]
text = "On their side. {{number}}"
[protocol.cpr.next]
yes = "breathing"
"""


def load(text: str):
    return load_language(text, "xx", "protocols/data/xx.toml")


def test_a_good_file_loads_with_its_steps():
    loaded = load(GOOD)
    assert set(loaded.protocols["cpr"].next) == {"breathing", "yes"}
    assert loaded.protocols["cpr"].next["yes"] is loaded.protocols["cpr"].next["breathing"]


@pytest.mark.parametrize(("change", "message"), [
    (('must_not = ["stop pushing"]', ""), "protocol.cpr: must_not must be a list"),
    (('must_not = ["stop pushing"]', "must_not = []"), "protocol.cpr: must_not needs at least one"),
    (('must_not = ["stop pushing"]', 'must_not = ["(unclosed"]'), "protocol.cpr: must_not: bad regular expression"),
    (('question = "Breathing?"', 'question = "Breathing?"\nsevere = true'), "protocol.cpr: unknown field 'severe'"),
    (('question = "Breathing?"', ""), "protocol.cpr: next steps need a question"),
    (('text = "On their side. {number}"', 'text = "On their side."'),
     "protocol.cpr.next.breathing: text must name the number"),
    (("[protocol.cpr.next.breathing]", "[protocol.cpr.next.asleep]"), "protocol.cpr: next.asleep: not an answer class"),
    (('yes = "breathing"', 'yes = "awake"'), "protocol.cpr: next.yes: 'awake' is not a sibling step"),
    (('question = "Breathing?"', 'question = "Breathing?"\ndiscreet = true'),
     "protocol.cpr: a discreet protocol asks nothing back"),
    (('source = "a public source, long enough"', 'source = ""'), "protocol.cpr: source is required"),
    (('done = ["done"]', ""), "[answer] must list exactly the answer classes; wrong: done"),
    (('cues = ["not"]', ""), "negation.cues must be a list"),
    (('[discreet]', '[discreet]\n[extra]'), "unknown section 'extra'"),
    (('language = "xx"', 'language = "yy"'), "`language` must be 'xx'"),
    (('call = "Call {number}."', 'call = "Call."'), "phrase.call must name the number"),
    (("[protocol.cpr]", "[protocol.cpr"), "not valid TOML"),
])
def test_a_broken_file_is_a_one_line_error_naming_file_and_key(change, message):
    old, new = change
    assert old in GOOD
    with pytest.raises(ProtocolError) as caught:
        load(GOOD.replace(old, new, 1))
    text = str(caught.value)
    assert text.startswith("protocols/data/xx.toml: ") and message in text and "\n" not in text


@pytest.mark.parametrize(("language", "reply", "expects", "answer"), [
    ("en", "he is breathing now what do i do", None, "breathing"),
    ("en", "no hes not breathing", None, "not_breathing"),
    ("en", "still bleeding", None, "continuing"),
    ("en", "the fire is out", None, "done"),
    ("en", "he woke up", None, "awake"),
    ("en", "he passed out", None, "unresponsive"),
    ("en", "gasping", None, "not_breathing"),
    ("en", "yes", ("breathing", "not_breathing", "yes"), "yes"),
    ("es", "ya respira", None, "breathing"),
    ("es", "sigue sangrando", None, "continuing"),
    ("fr", "il respire pas", None, "not_breathing"),
    ("fr", "le feu est eteint", None, "done"),
    ("pt", "ele acordou", None, "awake"),
    ("pt", "parou de sangrar", None, "stopped"),
    ("sw", "anapumua sasa", None, "breathing"),
    ("sw", "bado damu inatoka", None, "continuing"),
    ("ht", "li respire kounya", None, "breathing"),
    ("ht", "li pa respire", None, "not_breathing"),
    ("en", "thanks", None, None),
])
def test_replies_in_an_open_case_get_their_answer_class(language, reply, expects, answer):
    assert classify_answer(reply, language, expects or ANSWER_CLASSES) == answer


@pytest.mark.parametrize("language", ["en", "es", "fr", "pt", "sw", "ht"])
def test_every_answer_phrase_is_heard_as_its_own_class(language):
    assert language in languages()
    for answer, phrases in answer_phrases(language).items():
        for words in phrases:
            assert classify_answer(words, language) == answer, (language, words)


NEUTRAL = st.sampled_from(["please", "what", "quick", "help", "112", "!!", "pls"])


@given(st.text(max_size=200))
def test_classify_answer_never_fails_and_answers_from_the_classes_asked(text):
    assert classify_answer(text, "en", ("breathing", "not_breathing")) in (None, "breathing", "not_breathing")


@given(st.lists(NEUTRAL, max_size=4), st.lists(NEUTRAL, max_size=4))
def test_a_reply_with_one_answer_phrase_in_neutral_words_gets_that_class(before, after):
    for answer, phrases in answer_phrases("en").items():
        for words in phrases[:3]:
            if classify_answer(words, "en") != answer:
                continue
            text = " ".join([*before, words, *after])
            assert classify_answer(text, "en") == answer, text
