"""The learned part of the triage: what it learns from (train and dev only), that the shipped model is the
one those examples and lexicons make, and that a broken model file is a clear error."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from evy.triage import learn, triage
from evy.triage.errors import LexiconError
from evy.triage.lexicon import compile_lexicon
from evy.triage.model import default_model, parse

REPO = Path(__file__).resolve().parents[2]
HELD_OUT = REPO / "eval" / "corpus"


def shipped_examples() -> list[dict]:
    rows = []
    for name in learn.EXAMPLES:
        path = learn.LEARNED / name
        if path.is_file():
            rows += [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return rows


def test_the_shipped_examples_are_train_and_dev_only():
    rows = shipped_examples()
    assert len(rows) >= 800
    assert {row["split"] for row in rows} <= set(learn.TRAINING_SPLITS)


@pytest.mark.skipif(not HELD_OUT.is_dir(), reason="no eval/corpus in this checkout")
def test_no_held_out_message_is_among_the_examples():
    held_out_ids, held_out_texts = set(), set()
    for path in sorted(HELD_OUT.glob("*.toml")):
        for message in tomllib.loads(path.read_text("utf-8")).get("message", []):
            if message.get("split") == "test":
                held_out_ids.add(message["id"])
                held_out_texts.add(message["text"].strip().lower())
    rows = shipped_examples()
    leaked = sorted(row["id"] for row in rows
                    if row["id"] in held_out_ids or row["text"].strip().lower() in held_out_texts)
    assert held_out_ids and not leaked, f"test-split messages among the examples: {leaked[:10]}"


@pytest.mark.skipif(not HELD_OUT.is_dir(), reason="no eval/ in this checkout")
def test_only_spent_blind_sets_are_learnt_from():
    """A blind set still to be scored is never among the examples; the spent ones are, as train."""
    rows = shipped_examples()
    texts = {row["text"].strip().lower() for row in rows}
    for folder in sorted(HELD_OUT.parent.glob("blind*")):
        blind = [message["text"].strip().lower() for path in sorted(folder.glob("*.toml"))
                 for message in tomllib.loads(path.read_text("utf-8")).get("message", [])]
        learnt = sum(text in texts for text in blind)
        if folder.name in learn.SPENT_BLIND_SETS:
            assert learnt == len(blind), f"{folder.name}: {len(blind) - learnt} spent messages not learnt from"
        else:
            assert blind and learnt == 0, f"{folder.name} is still to be scored but {learnt} are among the examples"


def test_importing_a_corpus_leaves_its_test_split_behind(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rows = "".join(f'''
[[message]]
id = "xx-{number}"
lang = "en"
text = "message {number}"
emergency = true
category = "fire"
situation = "house_fire"
kind = "textbook"
group = "g{number}"
split = "{split}"
''' for number, split in enumerate(("train", "dev", "test")))
    (corpus / "en.toml").write_text(rows, "utf-8")
    destination = tmp_path / "examples.jsonl"
    assert learn.import_corpus(corpus, destination) == 2
    copied = [json.loads(line) for line in destination.read_text("utf-8").splitlines()]
    assert [row["id"] for row in copied] == ["xx-0", "xx-1"]
    assert {row["protocol"] for row in copied} == {"fire"}


def test_the_model_is_the_one_its_examples_and_lexicons_make():
    model = default_model()
    assert model is not None
    assert model.digest == learn.digest(), (
        "triage/data/learned/model.json is stale: run `python -m evy.triage.learn` after editing a lexicon "
        "or the examples")


def test_learning_refuses_the_test_split():
    with pytest.raises(SystemExit):
        learn.main(["--splits", "train,test"])


@pytest.mark.parametrize(("text", "message"), [
    ("not json", "not a triage model"),
    ('{"format": 99}', "format 99"),
    ('{"format": 1, "classes": ["fire"], "weights": {}, "emergency_bias": 0, "protocol_bias": [0], '
     '"evidence": [1], "digest": ""}', "evidence weights"),
])
def test_a_broken_model_file_is_a_clear_error(text, message):
    with pytest.raises(LexiconError, match=message):
        parse(text)


def test_a_guest_language_must_be_answered_in_a_supported_one():
    english = 'language = "en"\nmarkers = ["the"]\n'
    with pytest.raises(LexiconError, match="answer_in"):
        compile_lexicon({"en": english}, {"xx": 'language = "xx"\nanswer_in = "zz"\n'})
    lexicon = compile_lexicon({"en": english}, {"xx": 'language = "xx"\nanswer_in = "en"\nmarkers = ["ya"]\n'
                                                       'distress = ["tasukete"]\n'})
    result = triage("tasukete ya", lexicon=lexicon)
    assert result.emergency and result.language == "en"


def test_every_decision_carries_a_confidence():
    for text in ("hello", "house on fire kids inside", "how do i purify water", "my leg hurts"):
        assert 0 <= triage(text).confidence <= 1


@pytest.mark.parametrize(("split", "learnt_from"), [("test", ("train",)), ("dev", ("train", "test")),
                                                    ("dev", ("dev",))])
def test_measuring_refuses_the_test_split_and_its_own_split(split, learnt_from):
    with pytest.raises(ValueError, match="measure on"):
        learn.measure(HELD_OUT, split, learnt_from)


def test_a_trial_model_is_used_only_inside_its_block():
    from evy.triage.model import active_model, trying

    shipped = default_model()
    silent = parse(json.dumps({"format": 1, "classes": ["fire"], "weights": {}, "emergency_bias": -30.0,
                               "protocol_bias": [0.0], "evidence": [0.0] * 7, "digest": ""}))
    with trying(silent):
        assert active_model() is silent
        assert triage("the road to the market, is it open?").confidence == 1.0
    assert active_model() is shipped
