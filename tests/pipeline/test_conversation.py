"""Cases around the real responder on a real SQLite file (tests/pipeline/test_agent_cases.py drives the same
through the pty simulator)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from evy.cases.code import case_code
from evy.config.loader import parse
from evy.messages import Inbound, Priority
from evy.pipeline.conversation import Conversation
from evy.responder.brain import BrainResponder
from evy.store import Store
from evy.store import cases as case_store

PHONE = "+254711000111"


@pytest.fixture
def talk(tmp_path: Path):
    config = parse('country = "KE"\n[brain]\nfollowup = false\n[cases]\nkit_position = "-1.2921, 36.8219"\n')
    with Store.open(tmp_path / "evy.db") as store:
        conversation = Conversation(config, store, BrainResponder(config, llm=False))
        counter = iter(range(1, 10_000))

        def say(text: str, at: float, sender: str = PHONE):
            message = Inbound(next(counter), sender, text, datetime.fromtimestamp(at, UTC))
            answer = conversation.answer(message, now=at)
            with store.transaction() as db:
                case_store.save(db, answer.case)
            return answer

        yield say, store


def test_a_case_carries_the_conversation(talk) -> None:
    say, store = talk
    first = say("my husband collapsed, not breathing", 100.0)
    assert first.reply.priority is Priority.LIFE_THREATENING and first.reply.emergency
    assert "999" in first.reply.text and case_code(first.case.id) in first.reply.text
    second = say("hes breathing now", 160.0)
    assert second.case.id == first.case.id and second.case.step == "breathing"
    assert "side" in second.reply.text and second.reply.priority is Priority.LIFE_THREATENING
    assert case_store.get(store, first.case.id).step == "breathing"


def test_two_senders_keep_two_cases(talk) -> None:
    say, _ = talk
    one = say("house on fire", 1.0, sender="+254700000001")
    two = say("he is bleeding a lot", 2.0, sender="+254700000002")
    again = say("the fire is out", 3.0, sender="+254700000001")
    assert len({one.case.id, two.case.id}) == 2 and again.case.id == one.case.id


def test_a_quiet_case_closes_and_the_next_message_opens_a_new_one(talk) -> None:
    say, _ = talk
    first = say("flood water in the house", 1.0)
    later = say("is there food at the school", 1.0 + 13 * 3600)
    assert later.case.id != first.case.id


def test_short_plus_codes_are_read_near_the_kit(talk) -> None:
    say, _ = talk
    answer = say("trapped under a wall at PR6C+24", 1.0)
    assert answer.case.latitude is not None and abs(answer.case.latitude + 1.28) < 0.1


def test_a_routine_question_is_answered_by_the_responder(talk) -> None:
    say, _ = talk
    answer = say("hello, thank you for this service", 1.0)
    assert answer.reply is not None and answer.case.topic is None
