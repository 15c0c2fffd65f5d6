"""Operator commands over Meshtastic, for a PKI direct message from a node in ``meshtastic.operator_keys``:

- ``BROADCAST <text>``: a broadcast to the JOIN subscribers (SMS) and the kit's channel;
- ``ALERT <text>``: the same, sent to the channel with alert priority.

Anyone else writing these words gets an ordinary answer. A command is carried out once: the broadcast names
the message it came from (``created_by``), so a crash before the confirmation is queued does not send it
twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evy.broadcast import send as broadcast
from evy.config import Config
from evy.meshtastic.trust import Trust, trust_of
from evy.messages import Inbound, Priority, Reply
from evy.store import Store
from evy.store import meshtastic as node_store

_ORDER = re.compile(r"^\s*(BROADCAST|ALERT)\s+(\S.*)$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Order:
    text: str
    alert: bool


def parse_order(text: str) -> Order | None:
    match = _ORDER.match(text)
    if match is None:
        return None
    return Order(match.group(2).strip(), alert=match.group(1).upper() == "ALERT")


def carry_out(store: Store, config: Config, order: Order, *, sender: str, message_id: int) -> str:
    """Queue the broadcast (once per message) and say what was done, for the operator's confirmation."""
    created_by = f"meshtastic {sender} message {message_id}"
    broadcast_id = node_store.broadcast_made_by(store, created_by)
    if broadcast_id is None:
        try:
            broadcast_id = broadcast.queue(store, config, order.text, broadcast.Audience.SUBSCRIBERS,
                                           created_by=created_by, alert=order.alert)
        except broadcast.BroadcastError as exc:
            return f"Not sent: {exc}"
    sms = node_store.broadcast_sms_count(store, broadcast_id)
    what = "Alert" if order.alert else "Broadcast"
    return f"{what} {broadcast_id} queued: {sms} SMS and the Meshtastic channel."


def operator_reply(store: Store, config: Config, encoding: str, message: Inbound) -> Reply | None:
    """The confirmation of an operator command carried out, or None when the message is none (or its sender
    is no operator: then the words are an ordinary message)."""
    if trust_of(encoding) is not Trust.OPERATOR or (order := parse_order(message.text)) is None:
        return None
    done = carry_out(store, config, order, sender=message.sender, message_id=message.message_id)
    return Reply(done, priority=Priority.COMMAND)
