"""STOP/START/HELP parsing and the guards that decide who gets no answer."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evy.config import parse
from evy.pipeline.commands import Command, command_reply, parse_command
from evy.pipeline.guards import Guards, Verdict
from evy.pipeline.kit import SimulatedKit, join_replies
from evy.pipeline.msisdn import CALLING_CODES, TRUNK_PREFIXES, normalise, same_subscriber
from evy.sms.message import Deliver, Encoding
from evy.store import Store, inbox
from evy.store.optouts import set_opted_out


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


# -- commands obey the same limits, through a real pty -----------------------------------------------------
NO_LLM = "\n[brain]\nfollowup = false\n"
FLOODER, OTHER = "+254722111222", "+254733444555"


def _replies_to(kit, number):
    return [r for r in join_replies(list(kit.sim.sent)) if r.recipient == number]


def _wait_quiet(kit, seconds=1.0):
    time.sleep(seconds)
    return join_replies(list(kit.sim.sent))


def test_a_help_flood_is_rate_limited_like_any_text():
    with SimulatedKit('country = "KE"\n[guards]\nrate_limit = 5\nloop_repeats = 100' + NO_LLM) as kit:
        start = datetime.now(UTC).replace(microsecond=0)
        for n in range(61):
            kit.sim.deliver(FLOODER, "HELP", timestamp=start + timedelta(seconds=n))
        kit.sim.deliver(OTHER, "HELP", timestamp=start)
        kit.replies(6, timeout=30)
        _wait_quiet(kit, 2.0)
        assert len(_replies_to(kit, FLOODER)) == 5, "the rate limit holds for commands"
        assert len(_replies_to(kit, OTHER)) == 1, "other senders are unaffected"
        verdicts = [r[0] for r in kit.store.db.execute("SELECT verdict FROM messages WHERE sender = ?", (FLOODER,))]
        assert verdicts.count("ignored: rate limit") == 56


def test_an_auto_responder_answering_info_does_not_loop():
    with SimulatedKit('country = "KE"' + NO_LLM) as kit:
        start = datetime.now(UTC).replace(microsecond=0)
        kit.sim.deliver(FLOODER, "INFO", timestamp=start)
        answered = 0
        for n in range(1, 20):  # the auto-responder answers every reply it gets with "INFO"
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline and len(_replies_to(kit, FLOODER)) <= answered:
                time.sleep(0.02)
            if len(_replies_to(kit, FLOODER)) == answered:
                break
            answered = len(_replies_to(kit, FLOODER))
            kit.sim.deliver(FLOODER, "INFO", timestamp=start + timedelta(seconds=n))
        assert answered == 2, f"the loop breaker stops it after loop_repeats - 1 replies, got {answered}"


def test_stop_is_always_honoured_and_confirmed_once():
    with SimulatedKit('country = "KE"\n[guards]\nrate_limit = 3' + NO_LLM) as kit:
        start = datetime.now(UTC).replace(microsecond=0)
        for n in range(6):
            kit.sim.deliver(FLOODER, f"question {n}", timestamp=start + timedelta(seconds=n))
        kit.replies(3)
        for n in range(5):  # an auto-responder answering the confirmation with STOP
            kit.sim.deliver(FLOODER, "STOP", timestamp=start + timedelta(seconds=10 + n))
        _wait_quiet(kit, 2.0)
        texts = [r.text for r in _replies_to(kit, FLOODER)]
        assert len(texts) == 4 and "no more messages" in texts[-1], "one confirmation, even over the limit"
        assert kit.store.db.execute("SELECT COUNT(*) FROM optouts").fetchone()[0] == 1
