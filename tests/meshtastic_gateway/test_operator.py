"""Operator orders over Meshtastic: parsed strictly, and carried out once per message even when the agent is
killed after the broadcast was queued and before the confirmation (the retry finds the broadcast)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from evy.config import parse
from evy.meshtastic.operator import Order, carry_out, parse_order
from evy.store import Store
from evy.store import meshtastic as node_store


def test_an_order_retried_for_the_same_message_makes_one_broadcast(tmp_path):
    config = parse('country = "KE"\n[meshtastic]\nenabled = true\n')
    with Store.open(tmp_path / "evy.db") as store:
        order = Order("Shelter open at the school", alert=False)
        first = carry_out(store, config, order, sender="!0cafe001", message_id=7)
        again = carry_out(store, config, order, sender="!0cafe001", message_id=7)
        other = carry_out(store, config, order, sender="!0cafe001", message_id=8)
        assert first == again == "Broadcast 1 queued: 0 SMS and the Meshtastic channel."
        assert other.startswith("Broadcast 2 queued")
        assert node_store.broadcast_made_by(store, "meshtastic !0cafe001 message 7") == 1
        rows = store.db.execute("SELECT COUNT(*) FROM outbox WHERE recipient = '!ffffffff'").fetchone()
        assert rows[0] == 2


@given(st.sampled_from(["BROADCAST", "broadcast", "Alert", "ALERT"]), st.text(min_size=1).filter(str.strip))
def test_an_order_word_then_text_is_an_order(word, text):
    order = parse_order(f"{word} {text}")
    assert order is not None and order.alert == (word.upper() == "ALERT") and order.text == text.strip()


@given(st.text())
def test_text_not_starting_with_an_order_word_is_no_order(text):
    first = text.split(maxsplit=1)[0].upper() if text.split() else ""
    if first not in ("BROADCAST", "ALERT"):
        assert parse_order(text) is None


def test_an_order_word_alone_is_no_order():
    assert parse_order("BROADCAST") is None and parse_order("ALERT   ") is None
