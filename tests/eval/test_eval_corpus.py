"""The corpus scorer on a small labelled folder: the figures it reports, and one-line errors for bad files."""

from __future__ import annotations

import pytest

from evy.config import parse
from evy.evaluate import corpus
from evy.evaluate.errors import EvalError

MESSAGES = '''
[[message]]
id = "t-1"
lang = "en"
text = "my dad collapsed and is not breathing"
emergency = true
category = "medical"
situation = "cardiac_arrest"
kind = "textbook"
split = "test"

[[message]]
id = "t-2"
lang = "en"
text = "thank you, we are all fine now"
emergency = false
category = "other"
situation = "none"
kind = "chitchat"
split = "test"

[[message]]
id = "t-3"
lang = "en"
text = "fire in the kitchen, the pan of oil is burning"
emergency = true
category = "fire"
situation = "pan_fire"
kind = "textbook"
split = "train"
'''


def test_first_replies_are_scored_as_the_agent_sends_them(tmp_path):
    (tmp_path / "en.toml").write_text(MESSAGES)
    messages = corpus.load(tmp_path, ["test"])
    assert [m.id for m in messages] == ["t-1", "t-2"], "only the asked split"
    summary = corpus.summarise(corpus.score(messages, parse('country = "KE"')), details=True)
    assert summary["messages"] == 2 and summary["emergencies_recognised"] == 1.0
    assert summary["false_alarms"] == 0 and summary["protocol_exact"] == 1.0
    assert summary["dangerous_replies"] == 0 and summary["number_named_in_flagged"] == 1.0
    assert 1 <= summary["max_sms"] <= 3 and summary["questions_per_first_reply"] <= 1
    assert summary["confusion"] == {"medical": {"medical": 1}}
    assert summary["by_language"]["en"]["messages"] == 2


@pytest.mark.parametrize(("text", "error"), [
    ("[[message]]\nid = 1", "missing field"),
    (MESSAGES.replace('situation = "none"', 'situation = "alien_invasion"'), "unknown situation"),
    (MESSAGES + MESSAGES, "used twice"),
    ("not toml [", "cannot read"),
])
def test_a_bad_corpus_file_is_one_line_error(tmp_path, text, error):
    (tmp_path / "en.toml").write_text(text)
    with pytest.raises(EvalError, match=error):
        corpus.load(tmp_path)


def test_an_unknown_split_is_refused(tmp_path):
    (tmp_path / "en.toml").write_text(MESSAGES)
    with pytest.raises(EvalError, match="unknown split"):
        corpus.load(tmp_path, ["holdout"])
