"""Multipart reassembly on a real SQLite file: a concatenation reference is only 8 bits (some phones reuse one
all the time), so one sender's reference can come back; a reused reference after a gap, or a part number
already held with a different text, starts a new message instead of merging two (and losing one)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evy.sms.message import Concat, Deliver, Encoding
from evy.store import Store, inbox

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
TIMEOUT = 600.0
PHONE = "+254700000001"


def part(text: str, seq: int, total: int, at: datetime, ref: int = 7) -> Deliver:
    return Deliver(sender=PHONE, text=text, encoding=Encoding.GSM7, timestamp=at, concat=Concat(ref, total, seq))


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "evy.db") as store:
        yield store


def texts(store: Store) -> list[str]:
    return sorted(m.inbound.text for m in inbox.pending(store))


def test_two_whole_messages_with_one_reference_read_from_the_sim_together_stay_two(store):
    for n, at in enumerate((T0, T0 + timedelta(minutes=3))):  # e.g. a backlog read at start-up
        for seq in (1, 2, 3):
            inbox.add_part(store, part(f"m{n}p{seq} ", seq, 3, at), "00", now=1000.0)
    assert inbox.assemble(store, TIMEOUT, now=1000.0) == 2
    assert texts(store) == ["m0p1 m0p2 m0p3 ", "m1p1 m1p2 m1p3 "]


def test_a_reused_reference_after_a_gap_starts_a_new_message(store):
    inbox.add_part(store, part("old one ", 1, 3, T0), "00", now=1000.0)
    inbox.add_part(store, part("old two ", 2, 3, T0), "00", now=1000.0)  # its third part never comes
    later = T0 + timedelta(minutes=20)
    for seq in (3, 1, 2):
        inbox.add_part(store, part(f"new {seq} ", seq, 3, later), "00", now=1100.0)
    assert inbox.assemble(store, TIMEOUT, now=1100.0) == 1, "the new message is whole: answered at once"
    assert texts(store) == ["new 1 new 2 new 3 "]
    assert inbox.assemble(store, TIMEOUT, now=1601.0) == 1, "the old one times out on its own"
    old = [m for m in inbox.pending(store) if m.inbound.text.startswith("old")]
    assert [m.inbound.text for m in old] == ["old one old two "] and old[0].inbound.incomplete


def test_a_part_number_already_held_with_another_text_starts_a_new_message(store):
    inbox.add_part(store, part("first A ", 1, 2, T0), "00", now=1000.0)
    inbox.add_part(store, part("first B", 2, 2, T0), "00", now=1000.0)
    inbox.add_part(store, part("second A ", 1, 2, T0 + timedelta(seconds=40)), "00", now=1000.0)
    inbox.add_part(store, part("second B", 2, 2, T0 + timedelta(seconds=41)), "00", now=1000.0)
    assert inbox.assemble(store, TIMEOUT, now=1000.0) == 2
    assert texts(store) == ["first A first B", "second A second B"]


def test_a_repeated_part_with_the_same_text_is_used_once(store):
    inbox.add_part(store, part("one ", 1, 2, T0), "00", now=1000.0)
    inbox.add_part(store, part("one ", 1, 2, T0 + timedelta(seconds=5)), "00", now=1000.0)  # re-stamped
    inbox.add_part(store, part("two", 2, 2, T0 + timedelta(seconds=6)), "00", now=1000.0)
    assert inbox.assemble(store, TIMEOUT, now=1000.0) == 1
    assert texts(store) == ["one two"]


# --- properties -------------------------------------------------------------------------------------------

messages_strategy = st.lists(
    st.tuples(st.integers(2, 4), st.integers(0, 3)),  # (total parts, parts lost on the way)
    min_size=1, max_size=4,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=messages_strategy, seed=st.integers(0, 2**32 - 1), gapped=st.booleans())
def test_reassembly_never_merges_two_messages(tmp_path_factory, shape, seed, gapped):
    """Messages from one sender that share a reference (and so a part count), delivered in any order with
    repeats and losses, come out as one message each, made of their own parts only: when they are further
    apart than the timeout; or when each arrived whole, in the order they were sent."""
    rng = random.Random(seed)
    total = shape[0][0]
    sent, delivered = [], []
    at = T0
    for n, (_, lost) in enumerate(shape):
        lost = lost if gapped else 0
        at += timedelta(seconds=TIMEOUT + rng.randint(1, 3000) if gapped else rng.randint(total + 1, 59))
        missing = set(rng.sample(range(1, total + 1), min(lost, total - 1)))
        kept = [seq for seq in range(1, total + 1) if seq not in missing]
        sent.append("".join(f"<m{n}p{seq}>" for seq in kept))
        parts = [part(f"<m{n}p{seq}>", seq, total, at + timedelta(seconds=seq)) for seq in kept]
        parts += [rng.choice(parts) for _ in range(rng.randint(0, 2))]  # repeats
        rng.shuffle(parts)
        delivered += parts
    if gapped:
        rng.shuffle(delivered)  # any order, even across messages
    with Store.open(tmp_path_factory.mktemp("db") / "evy.db") as store:
        for message in delivered:
            inbox.add_part(store, message, "00", now=1000.0)
        inbox.assemble(store, TIMEOUT, now=1000.0 + TIMEOUT + 1)  # whatever is incomplete has timed out
        assert texts(store) == sorted(sent)
