"""The conversation eval: its set format, its scoring, and the real pipeline (a simulated kit on a pty) and
the real bare model playing short conversations."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from importlib.util import find_spec
from pathlib import Path

import pytest

from evy.evaluate import conversation_set
from evy.evaluate.conversation_run import Transcript, TurnReply, run_bare_model, run_pipeline
from evy.evaluate.conversation_score import questions_in, score_transcript, summarise
from evy.evaluate.errors import EvalSetError

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "eval" / "conversations"
NUMBER = "999"

TINY = '''
[[conversation]]
id = "cpr-then-breathing"
lang = "en"
emergency = true
protocol = "cpr"
  [[conversation.turn]]
  text = "my dad collapsed he is not breathing"
  must = [["push", "press"], ["chest"], ["{number}"]]
  [[conversation.turn]]
  text = "he is breathing now"
  must = [["side"], ["{number}"]]
  must_not = ["keep pushing"]
  step = "breathing"

[[conversation]]
id = "bite-then-stop"
lang = "en"
emergency = true
  [[conversation.turn]]
  text = "a snake bit my leg"
  must = [["{number}"]]
  [[conversation.turn]]
  text = "STOP"
  emergency = false
  must = [["no more"]]
  [[conversation.turn]]
  text = "are you there"
  silent = true
'''

DISCREET = '''
[[conversation]]
id = "at-home"
lang = "en"
emergency = true
discreet = true
  [[conversation.turn]]
  text = "he hits me"
  must = [["{number}"]]
'''


def test_shipped_set_has_eight_conversations_per_language_with_stop_and_discretion() -> None:
    shipped = conversation_set.load(SHIPPED)
    per_language = Counter(conversation.lang for conversation in shipped.conversations)
    assert set(per_language) == set(conversation_set.LANGUAGES)
    assert min(per_language.values()) >= 8
    for language in conversation_set.LANGUAGES:
        mine = [c for c in shipped.conversations if c.lang == language]
        assert any(turn.silent for c in mine for turn in c.turns), language  # STOP mid-case
        assert any(c.discreet for c in mine), language
        assert all(len(c.turns) >= 2 for c in mine), language


def test_tiny_set_parses_and_folds() -> None:
    parsed = conversation_set.parse(TINY)
    first, second = parsed.conversations
    assert first.turns[1].step == "breathing" and first.turns[1].emergency
    assert second.turns[1].emergency is False and second.turns[2].silent and not second.turns[2].emergency
    assert parsed.select(["bite-then-stop"]) == (second,)
    with pytest.raises(EvalSetError, match="no conversation with id 'nope'"):
        parsed.select(["nope"])


def _one(turn: str, conversation: str = 'id = "c"\nlang = "en"\nemergency = true\n') -> str:
    return f"[[conversation]]\n{conversation}  [[conversation.turn]]\n{turn}"


@pytest.mark.parametrize(("text", "error"), [
    ("", "no [[conversation]] entries"),
    ("[[conversation]]\nid = 'Bad Id'\n", "id: expected lower-case letters"),
    (_one('text = "hi"\nmust = [["x"]]\n', 'id = "c"\nlang = "de"\nemergency = true\n'), "lang: expected one of"),
    (_one('text = "hi"\nmust = [["x"]]\n', 'id = "c"\nlang = "en"\n'), "'c': emergency: missing"),
    (_one('text = "hi"\nmust = [["x"]]\n', 'id = "c"\nlang = "en"\nemergency = "yes"\n'), "emergency: expected true"),
    (_one('text = "hi"\nmust = [["x"]]\n', 'id = "c"\nlang = "en"\nemergency = true\nprotocol = "magic"\n'),
     "protocol: no protocol 'magic'"),
    (_one('text = "hi"\nmust = [["x"]]\ncolour = 1\n'), "turn 1: unknown key 'colour'"),
    (_one('text = ""\nmust = [["x"]]\n'), "turn 1: text: expected a non-empty string"),
    (_one('text = "hi"\nmust = []\n'), "turn 1: must: expected a non-empty list"),
    (_one('text = "hi"\nsilent = true\nmust = [["x"]]\n'), "a silent turn expects no reply"),
    (_one('text = "hi"\nmust = [["(unclosed"]]\n'), "turn 1: must[0]: bad pattern"),
    (_one('text = "fire in the kitchen"\nmust = [["kitchen"]]\n'), "matches the message itself"),
    (_one('text = "hi"\nmust = [["x"]]\nmust_not = "x"\n'), "must_not: expected a list"),
    (_one('text = "hi"\nmust = [["x"]]\nstep = 3\n'), "step: expected a string"),
    ("[[conversation]]\nid = 'c'\nlang = 'en'\nemergency = true\nturn = []\n", "turn: expected 1 to 8"),
    (TINY + TINY, "'cpr-then-breathing': id used twice"),
    ("colour = 1\n" + TINY, "unknown top-level key 'colour'"),
    ("[[conversation]\n", "conversations.toml"),
])
def test_a_bad_set_is_a_one_line_error(text: str, error: str) -> None:
    with pytest.raises(EvalSetError) as raised:
        conversation_set.parse(text, Path("conversations.toml"))
    message = str(raised.value)
    assert error in message and "\n" not in message


def test_ids_must_be_unique_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(TINY, encoding="utf-8")
    (tmp_path / "b.toml").write_text(TINY, encoding="utf-8")
    with pytest.raises(EvalSetError, match="used in another file"):
        conversation_set.load(tmp_path)
    with pytest.raises(EvalSetError, match="no conversation files"):
        conversation_set.load(tmp_path / "empty-folder")


def test_questions_are_the_sentences_that_ask() -> None:
    assert questions_in("Press hard. Are they breathing now?\nCase 2BE4.") == ("are they breathing now?",)
    assert questions_in("No question here.") == ()


def test_scoring_counts_every_rule_on_a_tiny_set() -> None:
    first, second = conversation_set.parse(TINY).conversations
    good = Transcript(first, [
        TurnReply(["Push hard on the chest. Call 999. Are they breathing now?"], segments=1, step=""),
        TurnReply(["On their side, watch them. 999"], segments=1, step="breathing")])
    bad = Transcript(first, [
        TurnReply(["Push on the chest. Call 911. Are they breathing now?"], segments=2, step=""),
        TurnReply(["Keep pushing. Are they breathing now?", "More text"], segments=3, step="")])
    stop_ignored = Transcript(second, [TurnReply(["Call 999."], segments=1),
                                       TurnReply(["no more messages"], segments=1),
                                       TurnReply(["I am still here!"], segments=1)])
    assert all(turn.passed for turn in score_transcript(good, NUMBER, has_case=True))
    worse = score_transcript(bad, NUMBER, has_case=True)
    assert worse[0].wrong_numbers == ("911",) and worse[0].number_named is False
    assert worse[1].dangerous == ("keep pushing",) and worse[1].repeated == ("are they breathing now?",)
    assert worse[1].step_ok is False and worse[1].missing == ("side", "{number}")
    assert score_transcript(bad, NUMBER, has_case=False)[1].step_ok is None  # the bare model has no case
    figures = summarise([good, bad, stop_ignored], NUMBER, has_case=True, details=True)
    assert figures["conversations"] == 3 and figures["conversations_passed"] == 1
    assert figures["turns"] == 7 and figures["turns_passed"] == 4
    assert figures["dangerous_turns"] == 1 and figures["repeated_questions"] == 1
    assert figures["turns_with_other_numbers"] == 1
    assert figures["stop_respected"] == 0.0
    assert figures["sms_per_case"] == round((2 + 5 + 3) / 3, 2) and figures["max_sms_per_turn"] == 3
    assert figures["questions_per_case"] == round((1 + 2 + 0) / 3, 2)
    assert figures["number_named_on_emergency_turns"] == round(3 / 5, 3)
    assert {(f["id"], f["turn"]) for f in figures["failed_turns"]} == {
        ("cpr-then-breathing", 1), ("cpr-then-breathing", 2), ("bite-then-stop", 3)}


def test_a_discreet_reply_is_one_message_without_questions() -> None:
    conversation = conversation_set.parse(DISCREET).conversations[0]
    quiet = score_transcript(Transcript(conversation, [TurnReply(["Noted. Call 999 if needed."], segments=1)]),
                             NUMBER, has_case=True)[0]
    loud = score_transcript(Transcript(conversation, [TurnReply(["Call 999. Where are you?", "More"], segments=2)]),
                            NUMBER, has_case=True)[0]
    assert quiet.passed and not quiet.discreet_breaches
    assert not loud.passed and {"2 messages", "asks a question"} <= set(loud.discreet_breaches)


def test_the_real_pipeline_plays_two_short_conversations() -> None:
    conversations = conversation_set.parse(TINY).conversations
    transcripts = run_pipeline('country = "KE"\nresponder = "brain"\n', {"brain__followup": False}, conversations)
    cpr, stop = transcripts
    assert cpr.turns[0].case is not None and cpr.turns[0].case == cpr.turns[1].case
    assert f"Case {cpr.turns[0].case}." in cpr.turns[0].text and cpr.turns[0].segments >= 1
    assert cpr.turns[1].step == "breathing" and "side" in cpr.turns[1].text
    assert stop.turns[1].messages and not stop.turns[2].messages  # STOP confirmed once, then silence
    figures = summarise(transcripts, NUMBER, has_case=True)
    assert figures["stop_respected"] == 1.0 and figures["number_named_on_emergency_turns"] == 1.0
    assert figures["steps_and_questions_as_declared"] == 1.0 and figures["repeated_questions"] == 0
    assert figures["dangerous_turns"] == 0 and figures["unanswered_turns"] == 0


@pytest.mark.skipif(find_spec("llama_cpp") is None, reason="llama-cpp-python is not installed")
def test_the_real_bare_model_answers_each_turn_with_the_thread() -> None:
    from evy.config import parse

    conversation = conversation_set.parse(TINY).conversations[0]
    config = parse('country = "KE"\n').replace(llm__max_tokens=24)
    found = run_bare_model(config, [conversation], timeout=20.0)
    if isinstance(found, str):
        pytest.skip(found)
    (transcript,) = found
    assert len(transcript.turns) == 2
    assert all(turn.messages and turn.segments >= 1 and turn.ms > 0 for turn in transcript.turns)
    scored = score_transcript(transcript, NUMBER, has_case=False)
    assert all(turn.step_ok is None for turn in scored)


def test_the_cli_refuses_a_bad_set_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(_one('text = "hi"\nmust = []\n'), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO / "agent")}
    done = subprocess.run([sys.executable, "-m", "evy", "eval", "--conversations", "--conversations-dir", str(bad),
                           "--no-llm", "--data-dir", str(tmp_path / "data")], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().count("\n") == 0 and "turn 1: must: expected a non-empty list" in done.stderr
