from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evy.cases.code import ALPHABET, case_code, case_id


@given(st.integers(min_value=1, max_value=10**9))
def test_codes_round_trip(number: int) -> None:
    code = case_code(number)
    assert len(code) >= 4 and set(code) <= set(ALPHABET)
    assert case_id(code) == number
    assert case_id(code.lower()) == number and case_id(f"#{code[:2]}-{code[2:]}") == number


def test_codes_are_unique_and_four_characters_for_the_first_cases() -> None:
    codes = [case_code(number) for number in range(1, 20_001)]
    assert len(set(codes)) == len(codes) and {len(code) for code in codes} == {4}


def test_retyped_confusable_characters_still_find_the_case() -> None:
    number = next(n for n in range(1, 10_000) if "Q" in case_code(n))
    assert case_id(case_code(number).replace("Q", "0")) == number


@pytest.mark.parametrize("text", ["", "abc", "12", "!!!!", "ZZZZZZZZZZZZZZZZZZZZ", "2BE4X"])
def test_not_codes(text: str) -> None:
    assert case_id(text) is None


def test_ids_start_at_one() -> None:
    with pytest.raises(ValueError):
        case_code(0)
