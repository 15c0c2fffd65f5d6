"""The Meshtastic words the agent acts on before the responder, in one place for the pipeline to call:
an operator's order (operator.py), a relay order and an SMS answering a relayed one (relay.py)."""

from __future__ import annotations

from dataclasses import dataclass

from evy.config import Config
from evy.meshtastic.operator import operator_reply
from evy.meshtastic.relay import relay_order, reply_to_node
from evy.messages import Inbound, Reply
from evy.store import Store


@dataclass(frozen=True)
class Handled:
    """What to queue instead of the responder's answer."""

    reply: Reply
    verdict: str
    recipient: str | None = None  # another than the sender (an SMS answer going to its node)
    also: tuple[str, Reply] | None = None  # a second message queued in the same transaction (the relayed SMS)


def meshtastic_orders(store: Store, config: Config, encoding: str, message: Inbound,
                      command: object | None) -> Handled | None:
    if (done := operator_reply(store, config, encoding, message)) is not None:
        return Handled(done, "operator command")
    if (relayed := relay_order(store, config, encoding, message)) is not None:
        return Handled(relayed.answer, relayed.verdict, also=relayed.sms)
    if command is None and (to_node := reply_to_node(store, config, message)) is not None:
        return Handled(to_node[1], f"relayed to {to_node[0]}", recipient=to_node[0])
    return None
