"""The agent's side of a case hand-over on a real database: the summary that travels, a case handed here opened
once whatever retries bring, the sender told once (never after STOP), and the mesh's verdict settling the
case handed away (closed when confirmed, left open when not)."""

from __future__ import annotations

import time
from dataclasses import replace

from evy.cases.code import case_code
from evy.config import parse
from evy.mesh.frames import MAX_BODY
from evy.mesh.messages import CaseHandover, encode
from evy.pipeline import handover
from evy.pipeline.meshlink import ReceivedHandover, untrusted_handover_problem
from evy.pipeline.sender import Sender
from evy.store import Store
from evy.store import cases as case_store
from evy.store import handovers as handover_store
from evy.store.optouts import set_opted_out

PHONE = "+254711000777"
KIT_A = 0xE5000011


def open_case(store: Store, texts: list[str], **fields) -> int:
    with store.transaction() as db:
        case = case_store.open_case(db, PHONE, 100.0, "sw")
        case_store.save(db, replace(case, **fields))
        for offset, text in enumerate(texts):
            db.execute("INSERT INTO messages(sender, text, encoding, received_at, case_id, state) VALUES"
                       " (?, ?, 'gsm7', ?, ?, 'handled')", (PHONE, text, 100.0 + offset, case.id))
    return case.id


def outbox(store: Store) -> list[tuple]:
    return [tuple(row) for row in store.db.execute("SELECT kind, recipient, text FROM outbox")]


def test_the_summary_carries_the_facts_and_the_latest_messages(tmp_path) -> None:
    with Store.open(tmp_path / "evy.db") as store:
        number = open_case(store, ["one", "two", "three", "four " + "x" * 400], category="flood", priority=1,
                           latitude=-1.29, longitude=36.82, people=5, location_text="near the bridge")
        summary = handover.summary(store, case_store.get(store, number))
        assert (summary.case_code, summary.sender, summary.category, summary.language, summary.priority,
                summary.people, summary.latitude, summary.location, summary.opted_out) == (
            case_code(number), PHONE, "flood", "sw", 1, 5, -1.29, "near the bridge", False)
        assert [text for _, text in summary.messages] == ["two", "three", ("four " + "x" * 400)[:320]]
        assert untrusted_handover_problem(summary) is None


def test_a_summary_of_long_wide_messages_still_fits_a_few_fragments(tmp_path) -> None:
    with Store.open(tmp_path / "evy.db") as store:
        number = open_case(store, ["🔥" * 400, "🚑" * 400, "🆘" * 400], location_text="🏠" * 300)
        summary = handover.summary(store, case_store.get(store, number))
        assert len(encode(summary)) <= handover.MAX_FRAGMENTS_USED * MAX_BODY
        assert summary.messages and summary.messages[-1][1].startswith("🆘") and summary.location == "🏠" * 50


def test_a_case_handed_here_opens_once_and_its_sender_is_told_once(tmp_path) -> None:
    body = CaseHandover("K7Q3", PHONE, "fire", "sw", 0, 3, -1.285, 36.83, "sokoni", ((1000, "moto!"),))
    with Store.open(tmp_path / "evy.db") as store:
        sender = Sender(parse(""), None, store)
        handover.receive(store, sender, [ReceivedHandover(KIT_A, body)] * 2, now=2000.0)
        handover.receive(store, sender, [ReceivedHandover(KIT_A, body)], now=2001.0)
        [case] = case_store.board(store)
        assert (case.sender, case.category, case.priority, case.emergency, case.people, case.latitude,
                case.language) == (PHONE, "fire", 0, True, 3, -1.285, "sw")
        told = f"Timu iliyo karibu nawe sasa ina ripoti yako: kesi {case_code(case.id)}. Jibu hapa kwa habari yoyote."
        assert outbox(store) == [("handover", PHONE, told)]
        assert [(entry.direction, entry.text, entry.kind) for entry in case_store.thread(store, case.id)] == [
            ("in", "moto!", "handed over"), ("out", told, "handover")]
        [received] = handover_store.for_case(store, case.id)
        assert (received.direction, received.peer, received.peer_code) == ("in", "e5000011", "K7Q3")


def test_a_sender_who_texted_stop_on_either_kit_gets_no_sms(tmp_path) -> None:
    with Store.open(tmp_path / "evy.db") as store:
        sender = Sender(parse(""), None, store)
        handover.receive(store, sender, [ReceivedHandover(KIT_A, CaseHandover("AAAA", PHONE, opted_out=True))])
        with store.transaction() as db:
            set_opted_out(db, "+254711000888", stopped=True)
        handover.receive(store, sender, [ReceivedHandover(KIT_A, CaseHandover("BBBB", "+254711000888"))])
        assert len(case_store.board(store)) == 2 and outbox(store) == []


def test_the_mesh_verdict_settles_a_case_handed_away(tmp_path) -> None:
    with Store.open(tmp_path / "evy.db") as store:
        confirmed, unconfirmed = open_case(store, ["a"]), open_case(store, ["b"])
        for number, mesh_id in ((confirmed, 41), (unconfirmed, 42)):
            with store.transaction() as db:
                queued = handover_store.request(db, number, "e5000023", time.time(), "operator")
            handover_store.mark_sent(store, queued, mesh_id, time.time())
        assert handover.settle(store, [(41, True), (42, False), (43, True)]) == [(43, True)]
        assert case_store.get(store, confirmed).status == "closed"
        assert case_store.get(store, unconfirmed).status == "new"
        assert [(h.state) for h in handover_store.for_case(store, unconfirmed)] == ["failed"]
        actions = [tuple(row) for row in store.db.execute("SELECT case_id, actor, action FROM audit_log ORDER BY id")]
        assert actions == [(confirmed, "mesh", "handed-over"), (unconfirmed, "mesh", "handover-failed")]


def test_what_a_kit_may_not_hand_over_is_refused() -> None:
    good = CaseHandover("K7Q3", PHONE, latitude=1.0, longitude=2.0)
    for bad, reason in ((replace(good, sender="SAFARICOM"), "phone number"), (replace(good, case_code="K7-Q3"), "code"),
                        (replace(good, latitude=91.0), "not a place"), (replace(good, longitude=None), "not a place"),
                        (replace(good, priority=9), "priority"), (replace(good, language="<b>"), "language"),
                        (replace(good, messages=((0, "x" * 2001),)), "characters")):
        assert reason in (untrusted_handover_problem(bad) or ""), bad
