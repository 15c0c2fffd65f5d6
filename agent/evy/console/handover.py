"""Hand a case to a neighbour kit nearer its sender: the operator picks a kit from the mesh's neighbour table
(as the agent last recorded it), the console queues the hand-over with its audit row, and the agent sends it
over the mesh. The case page shows hand-overs both ways."""

from __future__ import annotations

import re
import time
from typing import Any

from evy.cases.code import case_code
from evy.cases.state import Status
from evy.console.actions import ActionError, Actor, Outcome
from evy.store import Store
from evy.store import console as console_store
from evy.store import handovers as handover_store
from evy.store import health as store_health

NODE_ID = re.compile(r"^[0-9a-f]{8}$")
FRESH_S = 3600.0  # a neighbour heard within the hour may take a case


def neighbours(store: Store, now: float | None = None) -> list[dict[str, Any]]:
    """The mesh neighbours heard lately (node, heard_at, hops), from the agent's latest health snapshot."""
    now = time.time() if now is None else now
    latest = store_health.latest(store, "agent")
    mesh = (latest[1].get("mesh") or {}) if latest else {}
    return [peer for peer in mesh.get("neighbours") or []
            if isinstance(peer, dict) and NODE_ID.match(str(peer.get("node", "")))
            and now - float(peer.get("heard_at") or 0) < FRESH_S]


def hand_over(store: Store, actor: Actor, case_id: int, kit: str, key: str) -> Outcome:
    kit = kit.strip().lower()
    if not any(peer["node"] == kit for peer in neighbours(store)):
        raise ActionError(f"kit {kit!r} is not a neighbour heard in the last hour; pick one from the list")
    now = time.time()
    with store.transaction() as db:
        case = console_store.case_in(db, case_id)
        if case is None:
            raise ActionError(f"no case {case_id}")
        if case.status is Status.CLOSED:
            raise ActionError(f"case {case_code(case.id)} is closed; a closed thread is final")
        if not console_store.claim_action(db, key=key, at=now, actor=actor.account, address=actor.address,
                                          action="handover", case_id=case.id, detail=f"to kit {kit}"):
            return Outcome(False, "this hand-over was already asked for")
        if handover_store.active(db, case.id) is not None:  # raising rolls the claim back
            raise ActionError(f"case {case_code(case.id)} is already being handed over")
        handover_store.request(db, case.id, kit, now, actor.account)
    return Outcome(True, f"case {case_code(case.id)} is being handed to kit {kit} over the mesh")


def case_context(store: Store, case_id: int) -> dict[str, Any]:
    """What case.html shows: the case's hand-overs and the kits it could go to."""
    return {"handovers": handover_store.for_case(store, case_id), "neighbours": neighbours(store)}
