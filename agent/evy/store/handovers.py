"""Cases handed between kits over the mesh: what the console queues, what the agent sends and settles, and the
case a kit opens for a case handed to it.

Writes take the caller's transaction where an action commits with them (the console's audit row, the SMS the
receiving kit queues); the agent's own steps commit on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from evy.cases.state import Case, Status
from evy.store import cases as case_store
from evy.store.db import GuardedConnection, Store

ACTIVE = ("queued", "sent")


@dataclass(frozen=True)
class Handover:
    id: int
    direction: str  # out | in
    case_id: int
    peer: str  # the other kit's node id, 8 hex digits
    peer_code: str | None
    state: str
    created_at: float
    finished_at: float | None


_COLUMNS = "id, direction, case_id, peer, peer_code, state, created_at, finished_at"


def request(db: GuardedConnection, case_id: int, peer: str, at: float, actor: str) -> int:
    """Queue a hand-over of this kit's case to ``peer`` (the agent sends it)."""
    return db.execute("INSERT INTO case_handovers(direction, case_id, peer, state, actor, created_at)"
                      " VALUES ('out', ?, ?, 'queued', ?, ?)", (case_id, peer, actor, at)).lastrowid


def active(db: GuardedConnection | Store, case_id: int) -> Handover | None:
    """The case's hand-over on its way (queued or sent), if any."""
    connection = db.db if isinstance(db, Store) else db
    row = connection.execute(f"SELECT {_COLUMNS} FROM case_handovers WHERE direction = 'out' AND case_id = ?"
                             f" AND state IN {ACTIVE} ORDER BY id DESC LIMIT 1", (case_id,)).fetchone()
    return None if row is None else Handover(*row)


def for_case(store: Store, case_id: int) -> list[Handover]:
    rows = store.db.execute(f"SELECT {_COLUMNS} FROM case_handovers WHERE case_id = ? ORDER BY id",
                            (case_id,)).fetchall()
    return [Handover(*row) for row in rows]


def due(store: Store, now: float, resend_after: float) -> list[Handover]:
    """Hand-overs to send: queued ones, and sent ones whose outcome never came (the agent restarted while
    the mesh was still trying); the receiving kit opens a case for each hand-over once."""
    rows = store.db.execute(
        f"SELECT {_COLUMNS} FROM case_handovers WHERE direction = 'out' AND"
        " (state = 'queued' OR (state = 'sent' AND sent_at < ?)) ORDER BY id", (now - resend_after,)).fetchall()
    return [Handover(*row) for row in rows]


def latest_messages(store: Store, case_id: int, limit: int) -> list[tuple[float, str]]:
    """The sender's latest ``limit`` messages of the case, oldest first."""
    rows = store.db.execute("SELECT received_at, text FROM messages WHERE case_id = ?"
                            " ORDER BY received_at DESC, id DESC LIMIT ?", (case_id, limit)).fetchall()
    return [(row[0], row[1]) for row in reversed(rows)]


def mark_sent(store: Store, handover_id: int, mesh_id: int, now: float) -> None:
    with store.transaction() as db:
        db.execute("UPDATE case_handovers SET state = 'sent', mesh_id = ?, sent_at = ? WHERE id = ?",
                   (mesh_id, now, handover_id))


def mark_failed(store: Store, handover_id: int, now: float, reason: str) -> None:
    """A hand-over that cannot be sent at all (the case is gone, too large for the mesh)."""
    with store.transaction() as db:
        row = db.execute("SELECT case_id, peer FROM case_handovers WHERE id = ?", (handover_id,)).fetchone()
        db.execute("UPDATE case_handovers SET state = 'failed', finished_at = ? WHERE id = ?", (now, handover_id))
        if row is not None:
            _audit(db, now, "handover-failed", row[0], f"to kit {row[1]}: {reason}")


def settle(store: Store, mesh_id: int, delivered: bool, now: float) -> Handover | None:
    """The mesh's verdict on a sent hand-over: delivered closes the case as handed over (audited), undelivered
    leaves it open and says so. None when ``mesh_id`` is no hand-over of this kit (an SMS relay's)."""
    with store.transaction() as db:
        row = db.execute(f"SELECT {_COLUMNS} FROM case_handovers WHERE direction = 'out' AND state = 'sent'"
                         " AND mesh_id = ?", (mesh_id,)).fetchone()
        if row is None:
            return None
        handover = Handover(*row)
        state = "delivered" if delivered else "failed"
        db.execute("UPDATE case_handovers SET state = ?, finished_at = ? WHERE id = ?", (state, now, handover.id))
        if delivered:
            db.execute("UPDATE cases SET status = 'closed', updated_at = ? WHERE id = ?", (now, handover.case_id))
            _audit(db, now, "handed-over", handover.case_id, f"to kit {handover.peer}, which confirmed it")
        else:
            _audit(db, now, "handover-failed", handover.case_id,
                   f"kit {handover.peer} did not confirm it over the mesh; the case stays here")
    return handover


def _audit(db: GuardedConnection, at: float, action: str, case_id: int, detail: str) -> None:
    db.execute("INSERT INTO audit_log(at, actor, address, action, case_id, detail) VALUES (?, 'mesh', '', ?, ?, ?)",
               (at, action, case_id, detail))


def receive(db: GuardedConnection, *, peer: str, peer_code: str, case: Case, messages: list[tuple[float, str]],
            now: float) -> tuple[int, int] | None:
    """Open a case for a case handed to this kit, with the sender's messages as its thread (handled: they were
    answered on the other kit). Returns (case id, latest message id), or None when this hand-over arrived
    before (a retry whose ACK was lost)."""
    seen = db.execute("SELECT 1 FROM case_handovers WHERE direction = 'in' AND peer = ? AND peer_code = ?",
                      (peer, peer_code)).fetchone()
    if seen is not None:
        return None
    opened = case_store.open_case(db, case.sender, now, case.language)
    case_store.save(db, replace(case, id=opened.id, opened_at=min([now, *(at for at, _ in messages)]),
                                updated_at=now, status=Status.NEW))
    latest = None
    for at, text in messages:
        latest = db.execute("INSERT INTO messages(sender, text, encoding, received_at, state, verdict, handled_at,"
                            " case_id) VALUES (?, ?, 'mesh', ?, 'handled', 'handed over', ?, ?)",
                            (case.sender, text, at, now, opened.id)).lastrowid
    db.execute("INSERT INTO case_handovers(direction, case_id, peer, peer_code, state, created_at, finished_at)"
               " VALUES ('in', ?, ?, ?, 'received', ?, ?)", (opened.id, peer, peer_code, now, now))
    if latest is None:  # a case without messages still needs one to answer: the hand-over itself
        latest = db.execute("INSERT INTO messages(sender, text, encoding, received_at, state, verdict, handled_at,"
                            " case_id) VALUES (?, ?, 'mesh', ?, 'handled', 'handed over', ?, ?)",
                            (case.sender, f"(case {peer_code} handed over by kit {peer})", now, now,
                             opened.id)).lastrowid
    return opened.id, latest
