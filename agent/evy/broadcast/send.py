"""Plan, cost and queue a broadcast. The operator's text is sent as written (never shortened): a text over
``broadcast.max_segments`` SMS is refused with the count, so the cost shown before sending is the cost paid.

A broadcast is queued in one transaction: one outbox entry per recipient at :attr:`Priority.BROADCAST` (after
every reply), each held until its turn ``broadcast.send_interval`` seconds after the one before (after any
broadcast still queued), so the modem keeps its pace and has room for replies. Recipients who texted STOP are
never included, and a STOP that arrives later cancels what has not begun to leave.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from evy.config import Config
from evy.errors import EvyError
from evy.meshtastic.address import is_node_id
from evy.meshtastic.channel import queue_channel_broadcast
from evy.messages import Priority
from evy.pipeline.guards import Guards, Verdict
from evy.sms import pdu, segments
from evy.sms.errors import CodecError
from evy.store import Store, counters, outbox
from evy.store import broadcasts as store


class BroadcastError(EvyError):
    """A broadcast that cannot be queued as asked (empty, too long, no one to send it to)."""


class Audience(StrEnum):
    SUBSCRIBERS = "subscribers"  # texted JOIN (and not LEAVE or STOP)
    RECENT = "recent"  # texted the kit in the last N hours
    OPEN_CASES = "open_cases"  # the sender of a case not yet resolved or closed


@dataclass(frozen=True)
class Cost:
    """What a broadcast costs before it is sent: SMS per recipient times recipients."""

    recipients: int
    encoding: str  # gsm7 | ucs2
    segments: int  # SMS per recipient
    characters: int
    total_sms: int

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def text_cost(text: str, recipients: int, max_segments: int) -> Cost:
    """The cost of ``text`` to ``recipients``; a BroadcastError for a text that cannot go as written."""
    if not text.strip():
        raise BroadcastError("the broadcast text is empty")
    try:
        encoding, parts = segments.count(text)
    except CodecError as exc:
        raise BroadcastError(f"the broadcast text cannot be sent by SMS: {exc}") from None
    if parts > max_segments:
        raise BroadcastError(f"the broadcast takes {parts} SMS ({encoding}, {len(text)} characters); at most "
                             f"{max_segments} are allowed (broadcast.max_segments): shorten it")
    return Cost(recipients, str(encoding), parts, len(text), parts * recipients)


def recipients(store_: Store, config: Config, audience: Audience | str, hours: float | None = None,
               now: float | None = None) -> list[str]:
    """Who a broadcast to ``audience`` goes to: never an opted-out number, the kit itself, a short code or
    an alphanumeric sender."""
    now = time.time() if now is None else now
    match Audience(audience):
        case Audience.SUBSCRIBERS:
            found = store.subscribers(store_)
        case Audience.RECENT:
            window = config["broadcast.recent_hours"] if hours is None else hours
            if window <= 0:
                raise BroadcastError(f"the 'recent' audience needs a positive number of hours, not {window}")
            found = store.recent_senders(store_, now - window * 3600)
        case Audience.OPEN_CASES:
            found = store.open_case_senders(store_)
    guards = Guards(config)
    # Meshtastic senders hear broadcasts on the kit's channel (evy/meshtastic/channel.py), not by SMS.
    return [number for number in found if not is_node_id(number) and guards.sender_verdict(number) is Verdict.ANSWER]


def estimate(store_: Store, config: Config, text: str, audience: Audience | str, hours: float | None = None,
             now: float | None = None) -> Cost:
    """The cost shown to the operator before sending."""
    return text_cost(text, len(recipients(store_, config, audience, hours, now)), config["broadcast.max_segments"])


def queue(store_: Store, config: Config, text: str, audience: Audience | str, hours: float | None = None, *,
          created_by: str | None = None, now: float | None = None, alert: bool = False) -> int:
    """Queue a broadcast through the outbox; its id. Exactly once: every recipient's SMS commits, or none.
    With the Meshtastic gateway on, it also goes to the kit's channel (``alert``: with alert priority)."""
    now = time.time() if now is None else now
    audience = Audience(audience)
    numbers = recipients(store_, config, audience, hours, now)
    if not numbers and not config["meshtastic.enabled"]:
        raise BroadcastError(f"no one to send it to: the {audience} audience is empty")
    cost = text_cost(text, len(numbers), config["broadcast.max_segments"])
    interval = config["broadcast.send_interval"]
    window = (config["broadcast.recent_hours"] if hours is None else hours) if audience is Audience.RECENT else None
    # The parts are encoded between two transactions, so the database is not held while they are: the
    # first only takes the concatenation references (a crash after it merely skips those numbers).
    with store_.transaction(durable=False) as db:
        refs = counters.reserve_concat_refs(db, len(numbers))
    encoded = [[(p.hex, p.tpdu_length) for p in pdu.encode_submit(
        number, text, smsc=config["modem.smsc"], concat_ref=ref, request_status_report=config["modem.status_reports"],
        encoding=cost.encoding)] for number, ref in zip(numbers, refs, strict=True)]
    with store_.transaction() as db:
        broadcast_id = store.create(db, text=text, audience=str(audience), hours=window, encoding=cost.encoding,
                                    segments=cost.segments, created_by=created_by, now=now)
        last = store.last_queued_at(db)
        start = now if last is None else max(now, last + interval)
        for index, (number, parts) in enumerate(zip(numbers, encoded, strict=True)):
            outbox_id = outbox.enqueue(db, message_id=None, kind=store.KIND, recipient=number, text=text,
                                       encoding=cost.encoding, priority=int(Priority.BROADCAST), parts=parts, now=now)
            store.add_recipient(db, broadcast_id, number, outbox_id, start + index * interval)
        queue_channel_broadcast(db, config, text, alert=alert)
    return broadcast_id


def status(store_: Store, broadcast_id: int) -> dict[str, Any]:
    """A broadcast and where its SMS are, for the console."""
    found = store.get(store_, broadcast_id)
    if found is None:
        raise BroadcastError(f"no broadcast {broadcast_id}")
    return {**asdict(found), "delivery": asdict(store.delivery(store_, broadcast_id))}


def cancel(store_: Store, broadcast_id: int) -> int:
    """Cancel what has not begun to leave; how many SMS were cancelled."""
    if store.get(store_, broadcast_id) is None:
        raise BroadcastError(f"no broadcast {broadcast_id}")
    return store.cancel(store_, broadcast_id)
