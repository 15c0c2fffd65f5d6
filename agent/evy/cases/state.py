"""A case: one person's conversation with the kit, from the first message until it is closed.

The status follows a dispatcher's board: new → acknowledged → dispatched → resolved, and closed from any
of them (the sender says they are safe, the case is quiet for too long, or an operator closes it). A
resolved or closed case never takes new messages: the sender's next message opens a new case, so a case's
thread always belongs to one incident. These rules are pure functions; the store keeps the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum


class Status(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = frozenset({Status.NEW, Status.ACKNOWLEDGED, Status.DISPATCHED})

# Who may move a case where. The sender can only close their own case (SAFE); an operator can also go back
# a step (a dispatch called off), but never reopen a closed case: a closed case's thread is final.
_OPERATOR_MOVES: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.ACKNOWLEDGED, Status.DISPATCHED, Status.RESOLVED, Status.CLOSED}),
    Status.ACKNOWLEDGED: frozenset({Status.DISPATCHED, Status.RESOLVED, Status.CLOSED}),
    Status.DISPATCHED: frozenset({Status.ACKNOWLEDGED, Status.RESOLVED, Status.CLOSED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.ACKNOWLEDGED}),
    Status.CLOSED: frozenset(),
}


class TransitionError(ValueError):
    """A status change the rules above do not allow."""


@dataclass(frozen=True)
class Case:
    """What the responder and the console know of one conversation (the thread itself is in the store)."""

    id: int
    sender: str
    opened_at: float
    updated_at: float
    status: Status = Status.NEW
    language: str = "en"
    category: str | None = None
    topic: str | None = None  # the protocol being followed, e.g. "cpr"
    priority: int = 3
    emergency: bool = False
    step: str = ""  # the protocol step reached: "" for its first reply, else a dotted path "breathing"
    asked: tuple[str, ...] = field(default=())  # the questions already asked, never asked twice
    location_text: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    people: int | None = None
    last_in_at: float | None = None
    last_out_at: float | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


def operator_moves(status: Status) -> list[Status]:
    """The statuses an operator may move a case in ``status`` to, in board order."""
    return sorted(_OPERATOR_MOVES[status], key=list(Status).index)


def operator_move(case: Case, status: Status, now: float) -> Case:
    """The case moved to ``status`` by an operator; TransitionError if the board does not allow it."""
    if status == case.status:
        return case
    if status not in _OPERATOR_MOVES[case.status]:
        raise TransitionError(f"a {case.status} case cannot become {status}")
    return replace(case, status=status, updated_at=now)


def sender_safe(case: Case, now: float) -> Case:
    """The sender said they are safe: the case is closed (an already closed case stays as it is)."""
    if case.status is Status.CLOSED:
        return case
    return replace(case, status=Status.CLOSED, updated_at=now)


def joins(case: Case | None, now: float, quiet_close: float) -> bool:
    """Whether a new message at ``now`` belongs to ``case`` (else it opens a new case)."""
    return case is not None and case.is_open and now - case.updated_at < quiet_close


def escalate(case: Case, *, category: str | None, topic: str | None, priority: int, emergency: bool,
             language: str, now: float) -> Case:
    """The case after a message triaged as given. A more urgent reading replaces the case's topic (and
    restarts its protocol); a less urgent one never downgrades it: "thanks" after CPR is still a CPR case."""
    changed = replace(case, updated_at=now, last_in_at=now, language=language or case.language)
    more_urgent = priority < case.priority or (case.category is None and category is not None)
    if more_urgent or (priority == case.priority and topic is not None and topic != case.topic
                       and case.topic is None):
        return replace(changed, category=category, topic=topic, priority=min(priority, case.priority),
                       emergency=case.emergency or emergency, step="")
    return replace(changed, emergency=case.emergency or emergency)
