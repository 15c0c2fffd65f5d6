"""SMS round trip: 'the phone' texts an emergency; exactly one answer with the emergency number arrives (and at
most one follow-up, sent once: the agent's second SMS from its knowledge base, `brain.followup`)."""

import time

import pytest
from evyhil.sms import split_followups

pytestmark = pytest.mark.hil

EMERGENCY = "HELP my father collapsed at the market and is not breathing"


def test_emergency_sms_gets_exactly_one_reply(kit, phone, options, figures):
    phone.clear()
    sent_at = time.monotonic()
    phone.send(options.kit_number, EMERGENCY)
    first = phone.wait_for(1, timeout=options.sms_timeout)[0]
    figures["sms_round_trip_s"] = round(first.received_at - sent_at, 1)
    time.sleep(options.quiet_period)  # a duplicate would arrive in this window
    answers = split_followups(phone.inbox(), kit.outbox_texts("followup"))
    replies = answers.replies
    assert len(replies) == 1, f"{len(replies)} answers: {[r.text for r in replies]}"
    assert len(answers.followups) <= 1 and not answers.repeated_followups, \
        f"follow-ups: {[r.text for r in answers.followups]}"
    figures["sms_followups"] = len(answers.followups)
    reply = replies[0]
    assert options.emergency_number in reply.text, f"reply without {options.emergency_number}: {reply.text!r}"
    assert first.received_at - sent_at <= options.sms_timeout
