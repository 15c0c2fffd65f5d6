"""SMS relay (off by default, ``meshtastic.sms_relay``): a Meshtastic user without cell service has the kit
text a number. ``SMS +254711000111 text`` in a PKI direct message (the SMS names the sender's node, so the
sender must be proven) queues the SMS in the same transaction as the confirmation to the node; allowed
numbers and a per-node daily cap limit it. An SMS from that number within ``sms_relay_reply_hours`` goes back
to the node instead of being answered by the kit (its STOP/START/HELP still work as commands)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from evy.config import Config
from evy.meshtastic.address import is_node_id
from evy.meshtastic.trust import Trust, trust_of
from evy.messages import Inbound, Priority, Reply
from evy.sms import pdu
from evy.sms.errors import CodecError
from evy.store import Store
from evy.store import meshtastic as node_store

# A number written with spaces ("+254 722 123 456") must end with a colon: without one, "SMS +254722123456 2
# people hurt" would read the 2 as a digit of the number and text someone else.
_ORDER = re.compile(r"^\s*SMS\s+(?:(?P<spaced>\+?\d[\d ]{4,18}\d)\s*:|(?P<plain>\+?\d{6,15})\s*:?)\s+(?P<text>\S.*)$",
                    re.IGNORECASE | re.DOTALL)
KIND = node_store.SMS_RELAY
DAY = 86400.0


@dataclass(frozen=True)
class RelayOrder:
    number: str
    text: str


@dataclass(frozen=True)
class Relayed:
    """What the agent queues for a relay order: the answer to the node and, if accepted, the SMS."""

    answer: Reply
    verdict: str
    sms: tuple[str, Reply] | None = None


def parse_relay(text: str) -> RelayOrder | None:
    match = _ORDER.match(text)
    if match is None:
        return None
    number = match.group("spaced") or match.group("plain")
    return RelayOrder(number.replace(" ", ""), match.group("text").strip())


def relay_order(store: Store, config: Config, encoding: str, message: Inbound) -> Relayed | None:
    """A relay order from a node, accepted or refused with the reason; None when the message is none (or the
    relay is off: then the words are an ordinary message)."""
    if not config["meshtastic.sms_relay"] or not is_node_id(message.sender):
        return None
    order = parse_relay(message.text)
    if order is None:
        return None
    if trust_of(encoding) not in (Trust.PKI, Trust.OPERATOR):
        return _refused("SMS not sent: the relay needs a PKI direct message (Meshtastic firmware 2.5 or newer).",
                        "relay refused: no PKI")
    allowed = config["meshtastic.sms_relay_numbers"]
    if allowed and order.number not in allowed:
        return _refused(f"SMS not sent: {order.number} is not a number this kit relays to.", "relay refused: number")
    used = node_store.relays_since(store, message.sender, time.time() - DAY)
    if used >= config["meshtastic.sms_relay_daily"]:
        return _refused(f"SMS not sent: {used} SMS in 24 hours is this node's limit.", "relay refused: daily cap")
    sms = f"{order.text}\n-- from Meshtastic user {message.sender} via an EVY kit. Reply to this SMS to answer."
    try:
        pdu.encode_submit(order.number, sms)
    except CodecError as exc:
        return _refused(f"SMS not sent: {exc}", "relay refused: number")
    answer = f"SMS to {order.number} queued. Replies from that number will come here."
    return Relayed(Reply(answer, priority=Priority.COMMAND, fitted=True), f"relayed SMS to {order.number}",
                   (order.number, Reply(sms, priority=Priority.ROUTINE, fitted=True)))


def reply_to_node(store: Store, config: Config, message: Inbound) -> tuple[str, Reply] | None:
    """An SMS answering a relayed one: the node to send it to, and the text; None for any other message."""
    if not config["meshtastic.sms_relay"] or is_node_id(message.sender):
        return None
    since = time.time() - config["meshtastic.sms_relay_reply_hours"] * 3600
    node = node_store.relay_route(store, message.sender, since)
    if node is None:
        return None
    return node, Reply(f"SMS from {message.sender}: {message.text}", priority=Priority.COMMAND, fitted=True)


def _refused(text: str, verdict: str) -> Relayed:
    return Relayed(Reply(text, priority=Priority.COMMAND, fitted=True), verdict)
