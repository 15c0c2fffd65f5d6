import contextlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evy.mesh import messages
from evy.mesh.errors import MalformedFrame, PayloadTooLarge
from evy.mesh.frames import MAX_BODY, Kind
from evy.mesh.messages import (
    Ack,
    Alert,
    Beacon,
    HandedEvent,
    OffloadRequest,
    OffloadResponse,
    Reassembler,
    SmsRelay,
    UplinkAck,
    UplinkHandoff,
    decode,
    encode,
    split,
)

text = st.text(max_size=400)
short_text = st.text(max_size=64).filter(lambda s: len(s.encode()) < 256)
handed_events = st.builds(HandedEvent, st.integers(0, 2**32 - 1), short_text, st.integers(0, 255),
                          st.floats(allow_nan=False), st.text(max_size=300))
bodies = st.one_of(
    st.builds(Ack, st.integers(0, 2**32 - 1), st.integers(0, 14)),
    st.builds(SmsRelay, st.text(max_size=20).filter(lambda s: len(s.encode()) < 256), text),
    st.builds(Alert, st.integers(0, 3), text),
    st.builds(Beacon, st.integers(0, 255), st.integers(0, 0xFFFF), st.booleans(), st.booleans(), st.booleans(),
              st.integers(0, 255), st.booleans()),
    st.builds(OffloadRequest, text, st.integers(0, 0xFFFF), st.integers(0, 255)),
    st.builds(OffloadResponse, st.integers(0, 2**32 - 1), text),
    st.builds(UplinkHandoff, short_text, st.lists(handed_events, max_size=8).map(tuple)),
    st.builds(UplinkAck, short_text, st.lists(st.integers(0, 2**32 - 1), max_size=50).map(tuple)),
)


@settings(deadline=None)
@given(bodies)
def test_round_trip(message):
    assert decode(message.kind, encode(message)) == message


@settings(deadline=None)
@given(st.sampled_from(list(Kind)), st.binary(max_size=40))
def test_garbage_bodies_raise_malformed_or_decode(kind, data):
    with contextlib.suppress(MalformedFrame):
        decode(kind, data)


def test_three_segment_sms_reply_is_split_and_reassembled_in_any_order():
    reply = ("Stay where you are. Rescue team from Kisumu is on its way, ETA 40 minutes. Keep the injured leg "
             "still and raised, press a clean cloth on the wound. Drink water in small sips. ") * 3
    body = encode(SmsRelay("+254700123456", reply))
    parts = split(body)
    assert len(parts) == 3 and all(len(p) <= MAX_BODY for p in parts)
    order = list(range(3))
    random.Random(1).shuffle(order)
    reassembler = Reassembler()
    results = [reassembler.add(0xE5000001, 99, i, 3, parts[i], now=float(n)) for n, i in enumerate(order)]
    assert results[:2] == [None, None]
    assert decode(Kind.SMS_RELAY, results[2]) == SmsRelay("+254700123456", reply)
    assert reassembler.pending() == 0


def test_incomplete_messages_expire_and_are_bounded():
    reassembler = Reassembler(timeout_s=60, max_pending=2)
    reassembler.add(1, 1, 0, 2, b"a", now=0)
    assert reassembler.pending() == 1
    reassembler.add(2, 2, 0, 2, b"a", now=70)
    assert reassembler.pending() == 1  # the first one expired
    reassembler.add(3, 3, 0, 2, b"a", now=71)
    reassembler.add(4, 4, 0, 2, b"a", now=72)
    assert reassembler.pending() == 2


def test_too_long_for_fifteen_fragments():
    with pytest.raises(PayloadTooLarge):
        split(bytes(MAX_BODY * 15 + 1))
    assert split(b"") == [b""]


def test_unencodable_values_are_one_line_errors():
    with pytest.raises(PayloadTooLarge):
        encode(Alert(300, "x"))
    with pytest.raises(TypeError):
        messages.encode("not a message")  # type: ignore[arg-type]


@settings(deadline=None)
@given(st.binary(max_size=600))
def test_a_hand_off_body_that_does_not_inflate_or_parse_is_malformed(data):
    with contextlib.suppress(MalformedFrame):
        message = decode(Kind.UPLINK_HANDOFF, data)
        assert isinstance(message, UplinkHandoff)


def test_a_hand_off_inflating_past_its_bound_is_refused():
    import zlib

    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = bomb.compress(bytes(messages.MAX_INFLATED * 4)) + bomb.flush()
    assert len(body) < MAX_BODY
    with pytest.raises(MalformedFrame, match="inflates past"):
        decode(Kind.UPLINK_HANDOFF, body)


def test_a_hand_off_of_typical_case_events_is_deflated_to_fewer_fragments():
    data = '{"case":7,"sender":"+254711000001","message":19,"text":"fire near the school","received_at":1765100000.5}'
    handoff = UplinkHandoff("kit-turkana-03", tuple(
        HandedEvent(seq, "message.in", 1, 1765100000.5 + seq, data) for seq in range(1, 9)))
    plain = messages.UPLINK_HANDOFF_BODY.build({"origin": handoff.origin, "events": [vars(e) for e in handoff.events]})
    assert len(encode(handoff)) * 3 < len(plain)
    assert decode(Kind.UPLINK_HANDOFF, encode(handoff)) == handoff
