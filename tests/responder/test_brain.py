"""BrainResponder: protocol first in the sender's language with the local number; vetted follow-ups."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from evy.llm import LlmTimeout
from evy.messages import Inbound, Priority, Reply
from evy.responder.brain import BrainResponder
from evy.responder.knowledge import Knowledge
from evy.responder.vetting import (
    invented_numbers,
    novelty,
    phone_numbers,
    reject_reason,
    repetitive,
)


def inbound(text: str) -> Inbound:
    return Inbound(message_id=1, sender="+254700000001", text=text, received_at=datetime.now(UTC))


class ScriptedRuntime:
    """Stands in for the model worker where the test is about what the brain does with an answer."""

    def __init__(self, answer: str | Exception):
        self.answer = answer
        self.calls: list[list[dict]] = []

    def generate(self, messages, *, max_tokens, deadline):
        self.calls.append(messages)
        assert max_tokens > 0 and deadline > time.monotonic()
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def close(self):
        pass


def brain_with(make_config, answer, extra: str = "") -> tuple[BrainResponder, ScriptedRuntime]:
    config = make_config(extra)
    runtime = ScriptedRuntime(answer)
    opened = Knowledge(config, use_model=False)
    assert opened.wait(time.monotonic() + 60)
    knowledge = Knowledge(config, index=opened._index, runtime=runtime)
    return BrainResponder(config, knowledge=knowledge), runtime


@pytest.mark.parametrize(("text", "country", "number", "language", "priority", "marker"), [
    ("my son fell through ice not breathing", "KE", "999", "en", Priority.LIFE_THREATENING, "5 rescue breaths"),
    ("mi bebe no respira ayuda", "MX", "911", "es", Priority.LIFE_THREATENING, "pecho"),
    ("il y a le feu chez moi", "FR", "112", "fr", Priority.EMERGENCY, "fumée"),
    ("socorro, enchente, estamos no telhado", "BR", "192", "pt", Priority.LIFE_THREATENING, "telhado"),
    ("snake bit my leg", None, "112", "en", Priority.EMERGENCY, "snake"),
])
def test_respond_gives_the_protocol_in_the_senders_language_with_the_local_number(
        make_config, text, country, number, language, priority, marker):
    config = make_config(f'country = "{country}"' if country else "")
    reply = BrainResponder(config, llm=False).respond(inbound(text))
    assert reply.emergency and reply.priority is priority
    assert number in reply.text and marker in reply.text
    assert reply.sources and reply.sources[0].startswith(f"EVY protocol {language}/")
    assert not reply.wants_followup  # llm=False: protocols only


def test_emergency_number_override_wins(make_config):
    reply = BrainResponder(make_config('country = "KE"\nemergency_number = "+254711000999"'),
                           llm=False).respond(inbound("he is choking"))
    assert "+254711000999" in reply.text and "999 " not in reply.text.replace("+254711000999", "")


def test_non_emergency_question_gets_the_info_template_and_a_followup_offer(make_config):
    brain = BrainResponder(make_config())
    reply = brain.respond(inbound("how do i purify water"))
    assert not reply.emergency and reply.priority is Priority.ROUTINE and reply.category == "water_food"
    assert "bleach" in reply.text and reply.wants_followup
    hello = brain.respond(inbound("hello"))
    assert hello.category is None and "112" in hello.text and not hello.wants_followup


def test_respond_is_fast_after_the_first_message(make_config):
    brain = BrainResponder(make_config(), llm=False)
    brain.respond(inbound("warm up"))
    started = time.perf_counter()
    for _ in range(50):
        brain.respond(inbound("HELPPP my husband is bleding a lot from his leg"))
    assert (time.perf_counter() - started) / 50 < 0.1  # generous here; the Pi target lives in the bench


def test_life_threat_followup_is_retrieved_text_never_model_text(make_config):
    brain, runtime = brain_with(make_config, "Call 911 and do something the model made up.", 'country = "KE"')
    message = inbound("my son fell through ice not breathing")
    first = brain.respond(message)
    follow = brain.follow_up(message, first, time.monotonic() + 10)
    assert follow is not None and runtime.calls == []
    assert "999" in follow.text and "911" not in follow.text and "made up" not in follow.text
    assert follow.priority is Priority.LIFE_THREATENING and follow.sources
    assert novelty(follow.text, first.text) >= 0.4


def test_life_threat_followup_in_spanish_comes_from_the_spanish_kb(make_config):
    brain, _ = brain_with(make_config, "unused")
    message = inbound("mi hijo no respira, se cayo al agua")
    follow = brain.follow_up(message, brain.respond(message), time.monotonic() + 10)
    assert follow is not None and "112" in follow.text and "llame" in follow.text.lower()


def test_vetted_model_answer_becomes_the_followup(make_config):
    answer = ("Let muddy water settle in a bucket, pour the clear part through a clean cloth, then keep "
              "it in a covered container with a tap so hands never touch it.")
    brain, runtime = brain_with(make_config, answer)
    message = inbound("how do i purify water")
    follow = brain.follow_up(message, brain.respond(message), time.monotonic() + 10)
    assert follow is not None and follow.text == answer and follow.sources
    system, user = runtime.calls[0]
    assert system["role"] == "system" and "Notes:" in user["content"] and "English" in user["content"]


def test_emergency_followup_is_retrieved_text_never_model_text(make_config):
    """Not only life threats: for any emergency the model writes nothing the sender reads."""
    brain, runtime = brain_with(make_config, "I have alerted the rescue team, help is on the way.", 'country = "KE"')
    message = inbound("flooding in our street, what should we do")
    first = brain.respond(message)
    assert first.priority is Priority.EMERGENCY and first.wants_followup
    follow = brain.follow_up(message, first, time.monotonic() + 10)
    assert follow is not None and runtime.calls == []
    assert "999" in follow.text and "rescue team" not in follow.text and follow.sources


@pytest.mark.parametrize(("answer", "why"), [
    ("Boil the water and then call 911 for more help right away.", "invented number"),
    ("Hierva el agua durante un minuto y déjela enfriar tapada.", "wrong language"),
    ("Boil it. Boil it. Boil it.", "too short or repetitive"),
    (LlmTimeout("deadline"), "timeout"),
])
def test_bad_or_missing_model_answer_leaves_the_template(make_config, answer, why):
    brain, _ = brain_with(make_config, answer)
    message = inbound("how do i purify water")
    assert brain.follow_up(message, brain.respond(message), time.monotonic() + 10) is None, why


def test_no_model_no_followup_for_non_life_threats(make_config):
    config = make_config()
    opened = Knowledge(config, use_model=False)
    brain = BrainResponder(config, knowledge=opened)
    message = inbound("how do i purify water")
    assert brain.follow_up(message, brain.respond(message), time.monotonic() + 10) is None


def test_past_deadline_and_declined_followups_return_none(make_config):
    brain, runtime = brain_with(make_config, "whatever")
    message = inbound("how do i purify water")
    first = brain.respond(message)
    assert brain.follow_up(message, first, time.monotonic() - 1) is None
    declined = Reply(text=first.text, wants_followup=False)
    assert brain.follow_up(message, declined, time.monotonic() + 5) is None
    assert runtime.calls == []


def test_followups_off_by_config(make_config):
    brain = BrainResponder(make_config("[brain]\nfollowup = false"))
    assert brain.knowledge is None and not brain.respond(inbound("how to purify water")).wants_followup


def test_a_number_the_sender_guessed_is_not_echoed(make_config):
    brain, _ = brain_with(make_config, "Keep the children in one room with blankets and call 911 if needed.",
                          'country = "KE"')
    message = inbound("how do i keep my kids warm, should i call 911")
    assert brain.follow_up(message, brain.respond(message), time.monotonic() + 10) is None


def test_vetting_rules():
    assert invented_numbers("call 911 or 112, give 2 tablets", ["112", "2 tablets"]) == ["911"]
    assert phone_numbers("call 911 at 14 Main St, or 999, or +254 711 000 222", emergency_number="999") == \
        ["+254 711 000 222", "911"]
    assert repetitive("Stay calm now. Stay calm now. Stay calm now.")
    assert not repetitive("Boil water for one minute. Let it cool before drinking.")
    assert reject_reason("short", language="en", first_reply="", passages=[], emergency_number="112") == "too short"
    same = "Boil water for one minute then let it cool down."
    assert reject_reason(same, language="en", first_reply=same, passages=[], emergency_number="112") == \
        "adds nothing to the first reply"


def test_warm_loads_everything_up_front(make_config):
    brain = BrainResponder(make_config("[llm]\nenabled = false"))
    brain.warm()
    assert brain.knowledge.wait(time.monotonic() + 60)
    started = time.perf_counter()
    brain.respond(inbound("house on fire"))
    assert time.perf_counter() - started < 0.05
    brain.close()
    brain.close()  # idempotent


@pytest.mark.slow
def test_real_model_followup_is_vetted_or_absent(make_config):
    """The real local model (SmolLM2 from models.lock) behind the real index: whatever it says, the
    follow-up is either a vetted answer in the sender's language naming no invented number, or None."""
    config = make_config()
    brain = BrainResponder(config)
    try:
        assert brain.knowledge.wait(time.monotonic() + 120)
        message = inbound("how do i keep my family warm in the shelter tonight")
        first = brain.respond(message)
        deadline = time.monotonic() + 30
        follow = brain.follow_up(message, first, deadline)
        assert time.monotonic() < deadline + 5  # the deadline holds, model load included
        if follow is not None:
            assert reject_reason(follow.text, language="en", first_reply=first.text, passages=[follow.text],
                                 emergency_number=config.emergency_number) is None
            assert follow.sources
    finally:
        brain.close()


@pytest.mark.parametrize("budget", [1, 2])
def test_a_smaller_budget_never_drops_the_number(make_config, budget):
    from dataclasses import replace

    from evy.compress import as_sent
    from evy.protocols import keys, lookup

    config = make_config(f'country = "TH"\n[brain]\nmax_segments = {budget}')
    brain = BrainResponder(config, llm=False)
    reply = brain.respond(inbound("my son fell through ice not breathing"))
    assert "1669" in reply.text and reply.max_segments == budget and reply.keep == ("1669",)
    for key in keys("en"):
        sent = as_sent(replace(reply, text=lookup(key, "en", "1669").text))  # what the sender does, once
        assert sent.segments <= budget and "1669" in sent.text, key


def test_model_answer_the_passages_do_not_back_is_not_sent(make_config):
    answer = ("Put documents, medicines and a charged phone in a plastic bag, and fill clean containers with "
              "drinking water before the supply gets dirty.")  # sensible, but nothing retrieved says it
    brain, runtime = brain_with(make_config, answer, 'country = "KE"')
    message = inbound("how do i purify water")
    assert brain.follow_up(message, brain.respond(message), time.monotonic() + 10) is None
    assert runtime.calls  # the model answered; the vetting refused it
