"""The one-shot blind sets load as corpora (the same format and rules as eval/corpus), all held out."""

from __future__ import annotations

from pathlib import Path

import pytest

from evy.evaluate.corpus import load

EVAL = Path(__file__).resolve().parents[2] / "eval"


@pytest.mark.parametrize("name", ["blind", "blind2", "blind3"])
def test_a_blind_set_loads_and_is_all_held_out(name):
    messages = load(EVAL / name)
    assert len(messages) >= 180 and {m.split for m in messages} == {"test"}
    assert len({m.id for m in messages}) == len(messages)
