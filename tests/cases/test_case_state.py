from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evy.cases.state import Case, Status, TransitionError, escalate, joins, operator_move, sender_safe


def fresh(**changes) -> Case:
    return Case(id=1, sender="+254700000001", opened_at=0.0, updated_at=0.0, **changes)


def test_the_board_moves_forward_and_never_reopens_a_closed_case() -> None:
    case = operator_move(fresh(), Status.ACKNOWLEDGED, 1.0)
    case = operator_move(case, Status.DISPATCHED, 2.0)
    case = operator_move(case, Status.RESOLVED, 3.0)
    case = operator_move(case, Status.CLOSED, 4.0)
    assert case.status is Status.CLOSED and case.updated_at == 4.0
    with pytest.raises(TransitionError):
        operator_move(case, Status.NEW, 5.0)


def test_sender_safe_closes() -> None:
    assert sender_safe(fresh(status=Status.DISPATCHED), 9.0).status is Status.CLOSED


def test_a_message_joins_only_an_open_recent_case() -> None:
    assert joins(fresh(), 100.0, quiet_close=3600)
    assert not joins(fresh(), 4000.0, quiet_close=3600)
    assert not joins(fresh(status=Status.RESOLVED), 10.0, quiet_close=3600)
    assert not joins(None, 10.0, quiet_close=3600)


def test_a_calmer_message_never_downgrades_the_case() -> None:
    cpr = escalate(fresh(), category="medical", topic="cpr", priority=0, emergency=True, language="en", now=1)
    cpr = cpr.__class__(**{**cpr.__dict__, "step": "breathing"})
    thanks = escalate(cpr, category=None, topic=None, priority=3, emergency=False, language="en", now=2)
    assert (thanks.topic, thanks.priority, thanks.emergency, thanks.step) == ("cpr", 0, True, "breathing")


def test_a_more_urgent_message_takes_over_and_restarts_the_protocol() -> None:
    case = escalate(fresh(), category="medical", topic="fracture", priority=1, emergency=True, language="en",
                    now=1)
    case = case.__class__(**{**case.__dict__, "step": "splinted"})
    worse = escalate(case, category="medical", topic="cpr", priority=0, emergency=True, language="en", now=2)
    assert (worse.topic, worse.priority, worse.step) == ("cpr", 0, "")


statuses = st.sampled_from(list(Status))


@given(st.lists(st.tuples(st.sampled_from(["operator", "safe"]), statuses), max_size=30))
def test_any_sequence_of_actions_keeps_the_rules(actions: list[tuple[str, Status]]) -> None:
    case = fresh()
    closed = False
    for step, (who, status) in enumerate(actions, start=1):
        before = case
        try:
            case = operator_move(case, status, step) if who == "operator" else sender_safe(case, step)
        except TransitionError:
            assert case is before
        if closed:
            assert case.status is Status.CLOSED
        closed = case.status is Status.CLOSED
        assert case.updated_at >= before.updated_at
