"""The case hand-over body (Kind.CASE_HANDOVER): it round-trips, a body from the air either parses or is
refused as malformed, and a case too big for a mesh message is refused before it goes on air."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evy.mesh.errors import MalformedFrame, PayloadTooLarge
from evy.mesh.frames import MAX_BODY, MAX_FRAGMENTS, Kind
from evy.mesh.messages import CaseHandover, decode, encode, split


def short(limit: int) -> st.SearchStrategy[str]:
    return st.text(max_size=limit).filter(lambda value: len(value.encode()) < min(256, limit * 4))


coordinates = st.one_of(st.none(), st.integers(-18_000_000, 18_000_000).map(lambda n: n / 100_000))
handovers = st.builds(
    CaseHandover, short(8), short(20), short(30), short(5), st.integers(0, 3),
    st.one_of(st.none(), st.integers(0, 254)), coordinates, coordinates, short(60),
    st.lists(st.tuples(st.integers(0, 2**32 - 1), st.text(max_size=300)), max_size=5).map(tuple), st.booleans())


@settings(deadline=None)
@given(handovers)
def test_a_case_handover_round_trips(message: CaseHandover) -> None:
    assert message.kind is Kind.CASE_HANDOVER
    assert decode(Kind.CASE_HANDOVER, encode(message)) == message


@settings(deadline=None)
@given(st.binary(max_size=600))
def test_any_body_from_the_air_parses_or_is_refused_as_malformed(body: bytes) -> None:
    try:
        decoded = decode(Kind.CASE_HANDOVER, body)
    except MalformedFrame:
        return
    assert isinstance(decoded, CaseHandover)


def test_a_known_body() -> None:
    message = CaseHandover("K7Q3", "+254711000111", "fire", "sw", 0, 4, -1.285, 36.83, "near the market",
                           ((1_765_000_000, "moto! watu 4"),))
    body = encode(message)
    assert body.startswith(b"\x04K7Q3\x0d+254711000111\x04fire\x02sw\x00\x00\x04")
    assert decode(Kind.CASE_HANDOVER, body) == message
    unknown = decode(Kind.CASE_HANDOVER, encode(CaseHandover("K7Q3", "+254711000111")))
    assert (unknown.latitude, unknown.longitude, unknown.people, unknown.messages) == (None, None, None, ())
    assert decode(Kind.CASE_HANDOVER, encode(CaseHandover("K7Q3", "+2547", opted_out=True))).opted_out


@pytest.mark.parametrize("message", [
    CaseHandover("K7Q3", "+2547", people=255),
    CaseHandover("K7Q3", "+2547", latitude=float("nan")),
    CaseHandover("K7Q3", "x" * 300),
    CaseHandover("K7Q3", "+2547", messages=tuple((0, "x" * 200) for _ in range(256))),
])
def test_what_cannot_be_carried_is_refused(message: CaseHandover) -> None:
    with pytest.raises(PayloadTooLarge, match="cannot encode CaseHandover"):
        encode(message)


def test_a_long_case_needs_more_fragments_than_a_message_may_take() -> None:
    message = CaseHandover("K7Q3", "+2547", messages=tuple((0, "x" * 400) for _ in range(10)))
    assert len(encode(message)) > MAX_BODY * MAX_FRAGMENTS
    with pytest.raises(PayloadTooLarge):
        split(encode(message))
