"""Property tests: the reply splitter and the serial stream framing the twin speaks."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evy.meshtastic.address import is_node_id, node_id, node_num
from evy.meshtastic.split import MIN_LIMIT, join_parts, split_text

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=2000)


@given(texts, st.integers(MIN_LIMIT, 228))
def test_every_part_fits_is_numbered_in_order_and_they_join_to_the_text(text, limit):
    parts = split_text(text, limit)
    assert all(len(part.encode("utf-8")) <= limit for part in parts)
    assert join_parts(parts) == text
    if len(parts) > 1:
        numbers = [re.match(r"^\((\d+)/(\d+)\) ", part).groups() for part in parts]
        assert numbers == [(str(i), str(len(parts))) for i in range(1, len(parts) + 1)]
    else:
        assert parts == [text]


@given(st.lists(st.text(st.sampled_from("abc défg"), min_size=1, max_size=12), min_size=30, max_size=60))
def test_parts_end_at_a_word_boundary_when_one_is_near(words):
    parts = split_text(" ".join(words), 60)
    for part in parts[:-1]:
        body = re.sub(r"^\(\d+/\d+\) ", "", part)
        assert " " not in body or body.endswith(" ") or len(body.rpartition(" ")[2]) >= len(body) // 3 - 1


@given(st.lists(texts, min_size=2, max_size=5), st.randoms())
def test_parts_in_any_order_join_to_the_text(pieces, random):
    text = " ".join(pieces)
    parts = split_text(text, 40)
    random.shuffle(parts)
    assert join_parts(parts) == text


def test_a_limit_too_small_for_the_numbering_is_refused():
    with pytest.raises(ValueError, match="at least"):
        split_text("x" * 100, MIN_LIMIT - 1)


@given(st.integers(0, 0xFFFFFFFF))
def test_node_ids_round_trip_and_are_never_phone_numbers(num):
    address = node_id(num)
    assert is_node_id(address) and node_num(address) == num
    assert not re.match(r"^\+?\d+$", address)


@given(st.from_regex(r"^\+?\d{3,15}$", fullmatch=True))
def test_a_phone_number_is_not_a_node_id(number):
    assert not is_node_id(number)
