"""Conversations through the whole pipeline on the pty simulator: cases across messages, in each language,
STOP in the middle of a case, two senders interleaved; and SIGKILLs around a case update and its reply."""

from __future__ import annotations

import time

import pytest

from evy.cases.code import case_code
from evy.pipeline.kit import SimulatedKit
from evy.store import cases as case_store

pytestmark = pytest.mark.timeout(90)
NO_LLM = 'country = "KE"\n[brain]\nfollowup = false\n'
PHONE, OTHER = "+254711000111", "+254711000222"


def say(kit, sender: str, text: str, expect: int) -> list:
    """Send one SMS and return the replies that sender has received in all."""
    kit.sim.deliver(sender, text)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        mine = [reply for reply in kit.replies(0) if reply.recipient == sender and reply.complete]
        if len(mine) >= expect:
            return mine
        time.sleep(0.05)
    raise AssertionError(f"{sender} has {len(mine)} replies, expected {expect}: {mine}")


def the_case(kit, sender: str):
    return case_store.latest_for(kit.store, sender)


@pytest.fixture
def kit():
    with SimulatedKit(NO_LLM) as kit:
        yield kit


def test_a_cpr_case_moves_on_when_they_breathe(kit):
    [first] = say(kit, PHONE, "my husband collapsed he is not breathing", 1)
    case = the_case(kit, PHONE)
    assert "999" in first.text and case_code(case.id) in first.text and case.topic == "cpr"
    replies = say(kit, PHONE, "he is breathing now what do i do", 2)
    assert "side" in replies[1].text.lower() and "999" in replies[1].text
    case = the_case(kit, PHONE)
    assert case.step == "breathing"
    thread = case_store.thread(kit.store, case.id)
    assert [entry.direction for entry in thread] == ["in", "out", "in", "out"]


@pytest.mark.parametrize(("language", "emergency", "breathing", "safe"), [
    ("es", "mi padre se desmayo y no respira", "ya respira", "estamos a salvo"),
    ("fr", "mon pere s'est effondre il ne respire plus", "il respire maintenant", "nous sommes en securite"),
    ("pt", "meu pai desmaiou e nao respira", "ja esta respirando", "estamos seguros"),
    ("sw", "baba ameanguka hapumui", "sasa anapumua", "tuko salama"),
    ("ht", "papa m tonbe li pa respire", "li respire kounye a", "nou an sekirite"),
])
def test_a_conversation_in_each_language(kit, language, emergency, breathing, safe):
    say(kit, PHONE, emergency, 1)
    case = the_case(kit, PHONE)
    assert case.emergency
    say(kit, PHONE, breathing, 2)
    replies = say(kit, PHONE, safe, 3)
    assert the_case(kit, PHONE).status == "closed"
    assert case_code(case.id) in replies[2].text


def test_stop_in_the_middle_of_a_case_wins(kit):
    say(kit, PHONE, "there is a fire in our kitchen", 1)
    say(kit, PHONE, "STOP", 2)
    kit.sim.deliver(PHONE, "the fire is bigger now")
    time.sleep(1.5)
    assert len([reply for reply in kit.replies(0) if reply.recipient == PHONE]) == 2, "nothing after STOP"


def test_two_senders_interleaved_keep_their_own_cases(kit):
    say(kit, PHONE, "my son is choking on a sweet", 1)
    say(kit, OTHER, "the river is coming into our house", 1)
    mine = say(kit, PHONE, "it came out he can breathe", 2)
    theirs = say(kit, OTHER, "we are on the roof 4 people", 2)
    assert the_case(kit, PHONE).topic == "choking" and the_case(kit, OTHER).category == "flood"
    assert the_case(kit, OTHER).people == 4
    assert case_code(the_case(kit, PHONE).id) in mine[1].text
    assert case_code(the_case(kit, OTHER).id) in theirs[1].text
