"""STOP/START/HELP parsing and the guards that decide who gets no answer."""

from __future__ import annotations

import pytest

from evy.config import parse
from evy.pipeline.commands import Command, command_reply, parse_command
from evy.pipeline.guards import Guards, Verdict, set_opted_out
from evy.sms.message import Deliver, Encoding
from evy.store import Store, inbox


@pytest.mark.parametrize(("text", "command"), [
    ("STOP", Command.STOP), ("stop", Command.STOP), (" Stop. ", Command.STOP), ("UNSUBSCRIBE", Command.STOP),
    ("arrêt", Command.STOP), ("START", Command.START), ("unstop", Command.START), ("help", Command.HELP),
    ("Ayuda", Command.HELP), ("Stop please", None), ("STOP ads", None), ("stopped", None),
    ("help my son is not breathing", None), ("", None),
])
def test_only_a_single_command_word_counts(text, command):
    assert parse_command(text) == command


def test_command_replies_name_the_number():
    for command in Command:
        assert "999" in command_reply(command, "999") or command is Command.STOP


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "evy.db") as store:
        yield store


def guards(**settings):
    lines = [f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v}" for k, v in settings.items()]
    return Guards(parse("\n".join(lines)))


@pytest.mark.parametrize(("sender", "verdict"), [
    ("+254711000111", Verdict.OWN_NUMBER), ("0711000111", Verdict.OWN_NUMBER), ("+254722000111", Verdict.ANSWER),
    ("12345", Verdict.SHORT_CODE), ("SAFARICOM", Verdict.ALPHANUMERIC), ("+447700900123", Verdict.ANSWER),
])
def test_sender_verdicts(sender, verdict):
    assert guards(own_number="+254711000111").sender_verdict(sender) == verdict


def handled(store, sender, text, at):
    message = Deliver(sender=sender, text=text, encoding=Encoding.GSM7, timestamp=None)
    inbox.add_part(store, message, f"{at}", now=at)
    store.db.execute("UPDATE parts SET scts = ? WHERE pdu = ?", (str(at), f"{at}"))
    inbox.assemble(store, 600, now=at)
    with store.transaction() as db:
        for m in inbox.pending(store):
            inbox.mark_handled(db, m.inbound.message_id, "answered")


def test_third_identical_message_within_the_hour_is_a_loop(store):
    g = guards()
    handled(store, "+111222333", "Message undeliverable", 1000)
    assert g.traffic_verdict(store, "+111222333", "message  UNDELIVERABLE", now=1001) is Verdict.ANSWER
    handled(store, "+111222333", "Message undeliverable", 1002)
    assert g.traffic_verdict(store, "+111222333", "Message undeliverable", now=1003) is Verdict.REPLY_LOOP
    assert g.traffic_verdict(store, "+111222333", "Message undeliverable", now=1002 + 3601) is Verdict.ANSWER


def test_rate_limit_counts_only_the_window(store):
    g = guards(**{"guards.rate_limit": 3, "guards.rate_window": 60.0})
    for n in range(3):
        handled(store, "+111222333", f"msg {n}", 1000 + n)
    assert g.traffic_verdict(store, "+111222333", "another", now=1010) is Verdict.RATE_LIMITED
    assert g.traffic_verdict(store, "+444555666", "another", now=1010) is Verdict.ANSWER
    assert g.traffic_verdict(store, "+111222333", "another", now=1070) is Verdict.ANSWER


def test_opt_out_and_back_in(store):
    g = guards()
    with store.transaction() as db:
        set_opted_out(db, "+111222333", stopped=True)
    assert g.traffic_verdict(store, "+111222333", "hello") is Verdict.OPTED_OUT
    with store.transaction() as db:
        set_opted_out(db, "+111222333", stopped=False)
    assert g.traffic_verdict(store, "+111222333", "hello") is Verdict.ANSWER
