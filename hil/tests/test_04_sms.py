"""SMS round trip: 'the phone' texts an emergency; exactly one reply with the emergency number arrives."""

import time

import pytest

pytestmark = pytest.mark.hil

EMERGENCY = "HELP my father collapsed at the market and is not breathing"


def test_emergency_sms_gets_exactly_one_reply(kit, phone, options, figures):
    phone.clear()
    sent_at = time.monotonic()
    phone.send(options.kit_number, EMERGENCY)
    first = phone.wait_for(1, timeout=options.sms_timeout)[0]
    figures["sms_round_trip_s"] = round(first.received_at - sent_at, 1)
    time.sleep(options.quiet_period)  # a duplicate would arrive in this window
    replies = phone.inbox()
    assert len(replies) == 1, f"{len(replies)} replies: {[r.text for r in replies]}"
    assert options.emergency_number in first.text, f"reply without {options.emergency_number}: {first.text!r}"
    assert first.received_at - sent_at <= options.sms_timeout
