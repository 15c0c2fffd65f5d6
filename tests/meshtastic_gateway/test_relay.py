"""The optional SMS relay: a Meshtastic user has the kit text a number, and the answer comes back to the node.
Real parts: the twin node driven by the real library, the simulated SIM800 on a pty, the agent between."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("meshtastic")

from evy.meshtastic.relay import RelayOrder, parse_relay
from evy.meshtastic.twin import MeshtasticTwin
from evy.pipeline.kit import SimulatedKit

from .test_gateway import ALICE, BOB, answer_to, attached, meshtastic_config, quiet

pytestmark = pytest.mark.timeout(90)
MUM = "+254711000111"
RELAY = "sms_relay = true\nsms_relay_daily = 2\n"


@pytest.fixture
def twin():
    with MeshtasticTwin() as twin:
        twin.add_node(ALICE, "Alice")
        twin.add_node(BOB, "Bob")
        yield twin


def test_off_by_default_the_words_are_an_ordinary_message(twin):
    with SimulatedKit(meshtastic_config(twin)) as kit:
        attached(kit)
        twin.direct(ALICE, f"SMS {MUM} I am safe at the school")
        answer_to(twin, ALICE)
        quiet()
        assert not kit.sim.sent


def test_a_pki_order_sends_the_sms_naming_the_node_and_the_answer_comes_back_to_it(twin):
    with SimulatedKit(meshtastic_config(twin, RELAY)) as kit:
        attached(kit)
        twin.direct(ALICE, f"SMS {MUM} I am safe at the school")
        assert answer_to(twin, ALICE).startswith(f"SMS to {MUM} queued")
        [sms] = kit.replies(1)
        assert sms.recipient == MUM and "I am safe at the school" in sms.text and "!a1b2c3d4" in sms.text
        kit.sim.deliver(MUM, "Thank God, we are coming")
        assert answer_to(twin, ALICE, count=2) == f"SMS from {MUM}: Thank God, we are coming"
        quiet()
        assert len(kit.sim.sent) == 1, "the kit does not answer the SMS itself"


def test_no_pki_a_number_not_allowed_and_the_daily_cap_are_refused_with_the_reason(twin):
    with SimulatedKit(meshtastic_config(twin, RELAY + 'sms_relay_numbers = ["+254711000111"]\n')) as kit:
        attached(kit)
        twin.direct(ALICE, f"SMS {MUM} hello", pki=False)
        assert "needs a PKI direct message" in answer_to(twin, ALICE)
        twin.direct(ALICE, "SMS +254722999888 hello")
        assert "not a number this kit relays to" in answer_to(twin, ALICE, count=2)
        for n, text in enumerate(("one", "two", "three"), start=3):
            twin.direct(ALICE, f"SMS {MUM} {text}")
            answer_to(twin, ALICE, count=n)
        assert "limit" in answer_to(twin, ALICE, count=5)
        kit.replies(2)
        quiet()
        assert [r.recipient for r in kit.replies(2)] == [MUM, MUM], "two SMS, the daily cap"


@given(st.from_regex(r"\+?[1-9]\d{6,14}", fullmatch=True), st.text(min_size=1).filter(str.strip))
def test_an_order_gives_back_its_number_and_text(number, text):
    order = parse_relay(f"SMS {number} {text}")
    assert order is not None and order.number == number and order.text == text.strip()


@pytest.mark.parametrize(("order", "number", "text"), [
    ("SMS +254722123456 2 people hurt at the bridge", "+254722123456", "2 people hurt at the bridge"),
    ("sms +254 722 123 456: we are safe", "+254722123456", "we are safe"),
    ("SMS 0722123456: 3 of us ok", "0722123456", "3 of us ok"),
])
def test_a_text_that_begins_with_digits_never_joins_the_number(order, number, text):
    assert parse_relay(order) == RelayOrder(number, text)


def test_a_number_with_spaces_needs_its_colon():
    assert parse_relay("SMS +254 722 123 456 we are safe") is None


@given(st.text())
def test_text_not_starting_with_sms_and_a_number_is_no_order(text):
    if not text.lstrip().upper().startswith("SMS"):
        assert parse_relay(text) is None
