"""STOP/START/HELP parsing and the guards that decide who gets no answer."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evy.config import parse
from evy.pipeline.commands import Command, command_reply, parse_command
from evy.pipeline.guards import Guards, Verdict, set_opted_out
from evy.pipeline.msisdn import CALLING_CODES, TRUNK_PREFIXES, normalise, same_subscriber
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


@pytest.mark.parametrize(("own", "country", "sender", "verdict"), [
    ("+254711000111", "KE", "+447711000111", Verdict.ANSWER),  # same last nine digits, another country
    ("+254711000111", "KE", "+1711000111", Verdict.ANSWER),
    ("+254711000111", "KE", "0711000111", Verdict.OWN_NUMBER),
    ("+254711000111", None, "0711000111", Verdict.OWN_NUMBER),  # the calling code from the own number
    ("0711000111", "KE", "+254711000111", Verdict.OWN_NUMBER),
    ("0711000111", "KE", "+255711000111", Verdict.ANSWER),
    ("+254711000111", "KE", "00254711000111", Verdict.OWN_NUMBER),
    ("+12025550123", "US", "2025550123", Verdict.OWN_NUMBER),
    ("+12025550123", "US", "12025550123", Verdict.OWN_NUMBER),
    ("+12025550123", "US", "+442025550123", Verdict.ANSWER),
    ("+390612345678", "IT", "0612345678", Verdict.OWN_NUMBER),  # Italy keeps the leading 0
    ("+390612345678", "IT", "+39612345678", Verdict.ANSWER),
])
def test_own_number_compares_whole_normalised_numbers(own, country, sender, verdict):
    settings = {"own_number": own, "guards.ignore_short_codes": "false"}
    if country:
        settings["country"] = country
    lines = [f'{k} = "{v}"' if k != "guards.ignore_short_codes" else f"{k} = false" for k, v in settings.items()]
    assert Guards(parse("\n".join(lines))).sender_verdict(sender) == verdict


@given(country=st.sampled_from(sorted(CALLING_CODES)), subscriber=st.from_regex(r"[1-9][0-9]{5,10}", fullmatch=True))
def test_national_and_international_forms_are_one_subscriber(country, subscriber):
    code = CALLING_CODES[country]
    trunk = (TRUNK_PREFIXES.get(country, ("0",)) or ("",))[0]
    international = normalise(f"+{code}{subscriber}", code, country)
    assert international == f"{code}{subscriber}"
    assert normalise(f"{trunk}{subscriber}", code, country) == international
    assert normalise(f"00{code} {subscriber}", code, country) == international
    others = [c for c in set(CALLING_CODES.values()) if c != code]
    assert not any(same_subscriber(f"+{other}{subscriber}", f"+{code}{subscriber}", code, country)
                   for other in others)


@given(st.text(max_size=30))
def test_any_sender_text_normalises_or_is_refused_without_an_exception(text):
    result = normalise(text, "254", "KE")
    assert result is None or (result.isascii() and result.isdigit())
