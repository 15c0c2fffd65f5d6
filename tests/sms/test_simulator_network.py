"""The simulated network: incoming multipart messages in any order, with gaps and repeats, in any script."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evy.sms import pdu
from evy.sms.message import Encoding
from evy.sms.simulator import ModemSimulator, SentMessage, deliver_parts, status_report_for

SENDER = "+254711000111"
LONG = "Maji yamefika darajani, tunahitaji msaada haraka. " * 8


def test_parts_arrive_in_the_given_order():
    parts = deliver_parts(SENDER, LONG, order=[3, 1, 2, 4, 5, 6, 7, 8, 9][: len(deliver_parts(SENDER, LONG))],
                          concat_ref=42)
    seqs = [m.concat.seq for m, _ in parts]
    assert seqs[:3] == [3, 1, 2]
    assert all(m.concat.ref == 42 for m, _ in parts)
    assert "".join(m.text for m in sorted((m for m, _ in parts), key=lambda m: m.concat.seq)) == LONG


def test_missing_and_duplicate_parts():
    parts = deliver_parts(SENDER, LONG, missing=[2], duplicate=[1])
    seqs = [m.concat.seq for m, _ in parts]
    assert seqs[:3] == [1, 1, 3] and 2 not in seqs


def test_a_bad_order_is_refused():
    with pytest.raises(ValueError, match="distinct part numbers"):
        deliver_parts(SENDER, LONG, order=[1, 1])


@settings(max_examples=25, deadline=None)
@given(st.text(st.characters(codec="utf-16", exclude_categories=("Cs",)), min_size=0, max_size=400))
def test_any_text_survives_the_network_in_its_pdus(text):
    parts = deliver_parts(SENDER, text)
    decoded = [pdu.decode(hex_text) for _, hex_text in parts]
    assert "".join(d.text for d in decoded) == text
    assert all(d.sender == SENDER for d in decoded)


@pytest.mark.parametrize("text", ["مرحبا، نحتاج إلى ماء", "Нам нужна вода", "我们需要水和食物", "Need 💧 now",
                                  "Ñandú café — “quotes”"])
def test_non_latin_scripts_are_delivered_in_ucs2(text):
    (message, hex_text), = deliver_parts(SENDER, text)
    assert message.encoding == Encoding.UCS2 and pdu.decode(hex_text).text == text


def test_timestamp_and_alphanumeric_sender():
    when = datetime(2026, 3, 1, 8, 30, tzinfo=timezone(timedelta(hours=3)))
    (message, hex_text), = deliver_parts("Safaricom", "Your bundle", timestamp=when)
    decoded = pdu.decode(hex_text)
    assert decoded == message
    assert decoded.sender == "Safaricom" and decoded.timestamp == when


def test_delivery_report_refers_to_the_sent_part():
    part = pdu.encode_submit("+254733000999", "hi", request_status_report=True)[0]
    sent = SentMessage(reference=77, submit=part.message, pdu=part.hex, at=0.0)
    report, hex_text = status_report_for(sent, status=0x00)
    decoded = pdu.decode(hex_text)
    assert decoded == report
    assert (decoded.reference, decoded.recipient, decoded.delivered) == (77, "+254733000999", True)


def test_deliver_stores_parts_and_holds_what_does_not_fit():
    with ModemSimulator(storage_size=2) as simulator:
        simulator.deliver(SENDER, "x" * 500)  # 4 parts, room for 2
        assert len(simulator.stored) == 2 and len(simulator.network_queue) == 2


def test_unregistered_phone_gets_messages_once_registered():
    with ModemSimulator(registered=False) as simulator:
        simulator.deliver(SENDER, "queued in the network")
        assert simulator.stored == {} and len(simulator.network_queue) == 1
        simulator.set_registered(True)
        assert len(simulator.stored) == 1 and not simulator.network_queue
