"""Concatenated parts become the one message a handset shows."""

from __future__ import annotations

from evyhil.sms import Reassembler, same_number
from hypothesis import given
from hypothesis import strategies as st

from evy.sms.message import Concat


@given(st.lists(st.text(min_size=1, max_size=20), min_size=2, max_size=6), st.randoms(), st.integers(0, 255))
def test_parts_in_any_order_with_repeats_make_one_message(chunks, rng, ref):
    total = len(chunks)
    arrivals = [(seq, chunk) for seq, chunk in enumerate(chunks, start=1)]
    rng.shuffle(arrivals)
    completing = arrivals.pop()
    for repeat in rng.sample(arrivals, k=rng.randint(0, len(arrivals))):  # repeats before completion
        arrivals.insert(rng.randint(arrivals.index(repeat), len(arrivals)), repeat)
    inbox = Reassembler()
    for seq, chunk in [*arrivals, completing]:
        inbox.add("+254700000001", chunk, Concat(ref, total, seq), 1.0)
    assert [m.text for m in inbox.messages] == ["".join(chunks)]
    assert inbox.incomplete == 0


def test_a_resent_message_counts_twice():
    """A kit that sends its reply again is a defect the suite must see: two messages, not one."""
    inbox = Reassembler()
    for _ in range(2):
        inbox.add("+254700000001", "call ", Concat(4, 2, 1), 1.0)
        inbox.add("+254700000001", "112", Concat(4, 2, 2), 1.0)
    assert [m.text for m in inbox.messages] == ["call 112", "call 112"]


def test_single_part_and_missing_parts():
    inbox = Reassembler()
    inbox.add("112", "hello", None, 1.0)
    inbox.add("+2547", "first of two", Concat(9, 2, 1), 2.0)
    assert [m.text for m in inbox.messages] == ["hello"]
    assert inbox.incomplete == 1


def test_same_number_ignores_the_plus():
    assert same_number("+254700000001", "254700000001")
    assert not same_number("+254700000001", "+254700000002")


def test_follow_ups_are_told_apart_by_the_kits_own_record():
    from evyhil.protocol import ReceivedSms
    from evyhil.sms import split_followups

    got = [ReceivedSms("+1", "Call 112. Start CPR", 1.0), ReceivedSms("+1", "Push hard\nand fast", 2.0),
           ReceivedSms("+1", "Call 112. Start CPR", 3.0)]
    answers = split_followups(got, ["Push hard and fast"])
    assert [m.received_at for m in answers.replies] == [1.0, 3.0]  # a duplicate answer still counts twice
    assert [m.received_at for m in answers.followups] == [2.0] and answers.repeated_followups == []
    twice = split_followups([*got, ReceivedSms("+1", "Push hard and fast", 4.0)], ["Push hard and fast"])
    assert twice.repeated_followups == ["Push hard and fast"]
