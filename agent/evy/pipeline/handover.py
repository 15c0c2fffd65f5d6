"""Cases handed between kits over the mesh, on the agent's side.

Sending: the console queues a hand-over (``store.handovers``); the agent sends the case's summary to the named
kit as one :class:`~evy.mesh.messages.CaseHandover`, and the mesh's end-to-end ACK settles it (delivered: the
case closes here as handed over; not: it stays open and the console says so).

Receiving: a kit handed a case opens one for the sender, with their latest messages as its thread, and sends
them one short SMS naming the new case, so they know who has their report and answer the nearer kit.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from evy.cases.code import case_code
from evy.cases.state import Case
from evy.mesh.errors import MeshError
from evy.mesh.frames import MAX_BODY
from evy.mesh.messages import CaseHandover, encode
from evy.messages import Priority, Reply
from evy.sms.errors import CodecError
from evy.store import Store
from evy.store import cases as case_store
from evy.store import handovers as handover_store
from evy.store.optouts import is_opted_out

if TYPE_CHECKING:
    from evy.pipeline.meshlink import MeshLink, ReceivedHandover
    from evy.pipeline.sender import Sender

log = logging.getLogger("evy.mesh.handover")

RESEND_AFTER = 900.0  # a sent hand-over with no outcome by then is sent again (the agent restarted meanwhile)
MESSAGES_CARRIED = 3  # the sender's latest messages; airtime is scarce and the rest stays on this kit
MESSAGE_CHARS = 320
MAX_FRAGMENTS_USED = 6  # about 2.5 s on air at SF9: the oldest carried message gives way first
# One short SMS in the case's language; it names no number and promises nothing (field safety).
HANDED_OVER_SMS = {
    "en": "A team nearer to you now has your report: case {code}. Reply here with any news.",
    "sw": "Timu iliyo karibu nawe sasa ina ripoti yako: kesi {code}. Jibu hapa kwa habari yoyote.",
    "fr": "Une équipe plus proche a maintenant votre signalement : dossier {code}. Répondez ici pour toute nouvelle.",
    "es": "Un equipo más cercano tiene ahora su aviso: caso {code}. Responda aquí con cualquier novedad.",
    "pt": "Uma equipa mais próxima tem agora o seu pedido: caso {code}. Responda aqui com qualquer novidade.",
}


def handed_over_sms(language: str, code: str) -> str:
    return HANDED_OVER_SMS.get(language, HANDED_OVER_SMS["en"]).format(code=code)


def summary(store: Store, case: Case) -> CaseHandover:
    """What travels: the case's facts and the sender's latest messages (each cut to MESSAGE_CHARS), within
    MAX_FRAGMENTS_USED fragments: older messages give way, then the oldest left is shortened."""
    messages = [(int(at), text[:MESSAGE_CHARS])
                for at, text in handover_store.latest_messages(store, case.id, MESSAGES_CARRIED)]
    while True:
        found = CaseHandover(case_code(case.id), case.sender, _cut(case.category or "", 60), case.language,
                             case.priority, case.people, case.latitude, case.longitude,
                             _cut(case.location_text or "", 200), tuple(messages), is_opted_out(store, case.sender))
        if len(encode(found)) <= MAX_FRAGMENTS_USED * MAX_BODY or not messages:
            return found
        at, text = messages[0]
        if len(messages) > 1 or len(text) <= 20:
            messages.pop(0)
        else:
            messages[0] = (at, text[:len(text) // 2])


def _cut(text: str, most_bytes: int) -> str:
    """``text`` within ``most_bytes`` of UTF-8, cut at a character boundary."""
    return text.encode()[:most_bytes].decode("utf-8", "ignore")


def send_due(store: Store, mesh: MeshLink, now: float | None = None) -> None:
    now = time.time() if now is None else now
    for pending in handover_store.due(store, now, RESEND_AFTER):
        case = case_store.get(store, pending.case_id)
        if case is None:
            handover_store.mark_failed(store, pending.id, now, "the case is gone")
            continue
        priority = Priority(min(case.priority, Priority.ROUTINE))
        try:
            mesh_id = mesh.hand_over(int(pending.peer, 16), summary(store, case), priority)
        except MeshError as exc:  # too large, or the node refuses: say so on the case, keep the kit going
            handover_store.mark_failed(store, pending.id, now, str(exc))
            log.warning("case %s not handed to kit %s: %s", case_code(case.id), pending.peer, exc)
            continue
        handover_store.mark_sent(store, pending.id, mesh_id, now)
        log.info("case %s handed to kit %s (mesh message %d)", case_code(case.id), pending.peer, mesh_id)


def settle(store: Store, outcomes: list[tuple[int, bool]], now: float | None = None) -> list[tuple[int, bool]]:
    """Settle the hand-overs among the mesh's outcomes; returns the others (SMS relays')."""
    now = time.time() if now is None else now
    return [(mesh_id, delivered) for mesh_id, delivered in outcomes
            if handover_store.settle(store, mesh_id, delivered, now) is None]


def receive(store: Store, sender: Sender, received: list[ReceivedHandover], now: float | None = None) -> None:
    """Open a case for each case handed to this kit (once, whatever retries bring) and tell the sender."""
    now = time.time() if now is None else now
    for handed in received:
        body, peer = handed.body, f"{handed.source:08x}"
        case = Case(id=0, sender=body.sender, opened_at=now, updated_at=now, language=body.language or "en",
                    category=body.category or None, priority=min(max(body.priority, 0), 3),
                    emergency=body.priority <= Priority.EMERGENCY, location_text=body.location or None,
                    latitude=body.latitude, longitude=body.longitude, people=body.people,
                    last_in_at=max((at for at, _ in body.messages), default=None))
        try:
            with store.transaction() as db:
                opened = handover_store.receive(db, peer=peer, peer_code=body.case_code, case=case,
                                                messages=[(float(at), text) for at, text in body.messages], now=now)
                if opened is None:
                    log.info("case %s from kit %s arrived again; it is already open here", body.case_code, peer)
                    continue
                case_id, anchor = opened
                if not body.opted_out and not is_opted_out(store, body.sender):
                    priority = min(case.priority, Priority.COMMAND) if case.emergency else Priority.COMMAND
                    sender.enqueue(db, message_id=anchor, kind="handover", recipient=body.sender,
                                   reply=Reply(handed_over_sms(case.language, case_code(case_id)),
                                               priority=Priority(priority)))
        except CodecError as exc:  # mesh input is untrusted: one bad hand-over must not stop the kit
            log.warning("rejected case %s from kit %s: %s", body.case_code, peer, exc)
            continue
        log.info("case %s from kit %s opened here as %s", body.case_code, peer, case_code(case_id))
