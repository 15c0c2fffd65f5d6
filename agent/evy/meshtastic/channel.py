"""Broadcasts to the kit's Meshtastic channel: queued in the outbox like a reply (so an absent node delays
them and loses nothing), split into numbered parts, sent to everyone on ``meshtastic.channel``; a warning
goes with Meshtastic's alert priority (``sendAlert``), which apps show as an alert."""

from __future__ import annotations

from evy.config import Config
from evy.meshtastic.address import BROADCAST_ID
from evy.meshtastic.split import split_text
from evy.messages import Priority
from evy.store import meshtastic as node_outbox
from evy.store.db import GuardedConnection


def queue_channel_broadcast(db: GuardedConnection, config: Config, text: str, *, alert: bool = False) -> int | None:
    """Queue ``text`` for the channel in the caller's transaction (nothing when the gateway is off)."""
    if not config["meshtastic.enabled"]:
        return None
    return node_outbox.enqueue(db, message_id=None, kind=node_outbox.ALERT if alert else node_outbox.CHANNEL_BROADCAST,
                               recipient=BROADCAST_ID, text=text,
                               priority=int(Priority.EMERGENCY if alert else Priority.BROADCAST),
                               parts=split_text(text, config["meshtastic.max_text_bytes"]))
