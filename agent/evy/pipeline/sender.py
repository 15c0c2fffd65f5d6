"""From reply to air: compress into the SMS budget, encode the parts, queue them, send each exactly once.

Exactly once rests on the modem's own record: a part written to storage (AT+CMGW) and recorded is sent with
AT+CMSS, and before any further AT+CMSS of it (a late answer, a modem that vanished, a crash, a full disk)
the slot's STO SENT / STO UNSENT status is read first. A modem that is absent or failing holds the queue
without spending the replies' attempts, so a long outage never gives an emergency reply up.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import TYPE_CHECKING

from evy.compress import as_sent
from evy.config import Config
from evy.crash import crashpoint
from evy.meshtastic.address import is_node_id
from evy.meshtastic.split import split_text
from evy.messages import Priority, Reply
from evy.sms import modem as modem_api
from evy.sms import pdu
from evy.sms.errors import CmsError, ModemError
from evy.store import Store, StoreError, broadcasts, counters, outbox
from evy.store import meshtastic as node_outbox
from evy.store.db import GuardedConnection

if TYPE_CHECKING:  # a kit off the mesh never imports it (asyncio, the mesh's crypto)
    from evy.pipeline.meshlink import MeshLink

log = logging.getLogger("evy.sender")
USABLE = ("ready", "not-registered")  # modem states in which a send may be tried (not: down, resetting, ...)

def enqueue_reply(db: GuardedConnection, config: Config, *, message_id: int | None, kind: str, recipient: str,
                  reply: Reply, keep_ucs2: bool = False) -> int | None:
    """Compress (unless already fitted) and encode a reply and queue it in the caller's transaction."""
    fitted = as_sent(reply, keep_ucs2=keep_ucs2)
    if is_node_id(recipient):  # a Meshtastic node: direct messages, sent by the gateway
        return node_outbox.enqueue(db, message_id=message_id, kind=kind, recipient=recipient, text=fitted.text,
                                   priority=int(reply.priority),
                                   parts=split_text(fitted.text, config["meshtastic.max_text_bytes"]))
    ref = counters.next_concat_ref(db)
    parts = pdu.encode_submit(
        recipient, fitted.text, smsc=config["modem.smsc"], concat_ref=ref,
        request_status_report=config["modem.status_reports"], encoding=fitted.encoding,
    )
    return outbox.enqueue(db, message_id=message_id, kind=kind, recipient=recipient, text=fitted.text,
                          encoding=str(fitted.encoding), priority=int(reply.priority),
                          parts=[(p.hex, p.tpdu_length) for p in parts])


class Sender:
    def __init__(self, config: Config, modem: modem_api.Modem, store: Store, mesh: MeshLink | None = None):
        self.config = config
        self.modem = modem
        self.store = store
        self.mesh = mesh
        self.stored_sending = bool(getattr(modem, "supports_stored_send", False))
        # Parts that left but could not be recorded (a full disk): never sent again by this process, only
        # recorded once the store takes writes again. Keyed (outbox_id, seq); the value is the TP-MR.
        self._unrecorded: dict[tuple[int, int], int | None] = {}
        self._modem_failed = False  # since the last sweep of orphaned slots

    def enqueue(self, db: GuardedConnection, *, message_id: int | None, kind: str, recipient: str, reply: Reply,
                keep_ucs2: bool = False) -> int | None:
        return enqueue_reply(db, self.config, message_id=message_id, kind=kind, recipient=recipient, reply=reply,
                             keep_ucs2=keep_ucs2)

    # -- after a crash ---------------------------------------------------------------------------------
    def recover(self) -> None:
        """Settle parts a crash left between states, using the modem's own record where it has one."""
        if outbox.requeue_relaying(self.store):
            log.warning("replies handed to another kit before a restart are queued again")
        for part in outbox.parts_in_state(self.store, "sending"):
            log.warning("reply %d part %d may or may not have left before a restart; resending",
                        part.outbox_id, part.seq)
            outbox.set_part(self.store, part, "pending")
        if not self.stored_sending:
            return
        for part in outbox.parts_in_state(self.store, "stored"):
            state = self.modem.outgoing_state(part.location)
            if state == "sent":
                outbox.set_part(self.store, part, "sent")
                self.modem.delete(part.location)
            elif state is None:
                outbox.set_part(self.store, part, "pending")
        self.free_orphaned_slots()

    def free_orphaned_slots(self) -> None:
        """Free outgoing slots no part is recorded in: unsent ones were written by a crashed run, or by an
        AT+CMGW whose answer came too late (never sent; the part is written again), sent ones were recorded
        but never freed. Left alone, each would hold a slot until the SIM is full and deaf."""
        known = {part.location for part in outbox.parts_in_state(self.store, "stored")}
        for location in self.modem.list_unsent() + self.modem.list_sent():
            if location not in known:
                log.info("freeing modem storage slot %d (no reply part is recorded in it)", location)
                self.modem.delete(location)
        self._modem_failed = False

    # -- sending ---------------------------------------------------------------------------------------
    def flush(self) -> None:
        due = outbox.due(self.store)
        if not due:
            return
        status = self.modem.status()
        if status.state not in USABLE:  # away or being reset: the queue waits and no reply spends an attempt
            self._hold_for_the_modem(f"the modem is {status.state} ({status.last_error or 'no error yet'})")
            return
        if self._modem_failed and self.stored_sending:
            self.free_orphaned_slots()  # a failed AT+CMGW may have stored the part all the same
        for entry in due:
            try:
                for part in outbox.parts(self.store, entry.id):
                    if part.state != "sent":
                        self._send(part)
            except CmsError as exc:
                if exc.category == "network":
                    outbox.hold_all(self.store, time.time() + self.config["outbox.network_hold"], str(exc))
                    self.relay_held()
                    return
                self._failed_attempt(entry, str(exc), permanent=not exc.transient and not _slot_vanished(exc))
            except ModemError as exc:
                # The modem itself failed (port gone, no answer, rebooted mid-send), not this reply: hold
                # every reply without counting an attempt; the watchdog brings the modem back.
                self._modem_failed = True
                self._hold_for_the_modem(str(exc))
                return
            if entry.priority >= Priority.BROADCAST:  # one broadcast SMS per turn, then the next at the modem's pace
                broadcasts.hold_queued(self.store, time.time() + self.config["broadcast.send_interval"])
                return

    def _hold_for_the_modem(self, reason: str) -> None:
        """Postpone every queued reply (durably, so the idle loop sleeps instead of spinning on due replies)."""
        outbox.hold_all(self.store, time.time() + self.config["outbox.modem_hold"], reason)
        log.warning("replies held for %.0f s, no attempt counted: %s", self.config["outbox.modem_hold"], reason)

    def relay_held(self) -> int:
        """No network here: hand each untouched queued reply to a kit that has coverage, if one is heard."""
        if self.mesh is None:
            return 0
        gateways = self.mesh.gateways()
        if not gateways:
            return 0
        handed = 0
        for entry in outbox.due(self.store, now=float("inf"), limit=50):
            if entry.priority >= Priority.BROADCAST or not outbox.nothing_left(self.store, entry.id):
                continue  # broadcasts never take mesh airtime; a reply partly sent from here ends from here
            for part in outbox.parts(self.store, entry.id):
                if part.state == "stored":  # written to modem storage, never sent: take it back
                    self.modem.delete(part.location)
                    outbox.set_part(self.store, part, "pending")
            mesh_id = self.mesh.relay(gateways[0], entry.recipient, entry.text, Priority(entry.priority))
            outbox.mark_relaying(self.store, entry, mesh_id)
            handed += 1
        if handed:
            log.info("handed %d replies to kit %#x over the mesh (no cellular network here)", handed, gateways[0])
        return handed

    def _failed_attempt(self, entry: outbox.OutboxEntry, error: str, permanent: bool = False) -> None:
        failed = outbox.retry_later(
            self.store, entry, error, backoff=self.config["outbox.backoff"],
            max_backoff=self.config["outbox.max_backoff"], max_attempts=self.config["outbox.max_attempts"],
            permanent=permanent,
        )
        log.warning("reply %d to %s: %s%s", entry.id, entry.recipient, error, " (given up)" if failed else "")

    def _send(self, part: outbox.OutboxPart, rewritten: bool = False) -> None:
        key = (part.outbox_id, part.seq)
        if key in self._unrecorded:  # it left earlier in this run; only the record is missing
            self._record_sent(part, self._unrecorded[key])
            return
        submit = pdu.SubmitPart(hex=part.pdu, tpdu_length=part.tpdu_length)  # decoded only if a backend asks
        if self.stored_sending and part.state == "stored":
            # Written, and maybe sent, by an earlier attempt: the slot says whether it left.
            state = self.modem.outgoing_state(part.location)
            if state == "sent":
                log.info("reply %d part %d already left (its slot says STO SENT); not sent again",
                         part.outbox_id, part.seq)
                self._record_sent(part, None)
                return
            if state is None:  # the slot is empty or holds something else: write the part again
                log.warning("reply %d part %d: its storage slot %s is gone; writing it again", part.outbox_id,
                            part.seq, part.location)
                part = self._back_to_pending(part)
        location = part.location if part.state == "stored" else None
        if self.stored_sending and part.state == "pending":
            location = self._store_outgoing(submit)
            if location is not None:
                crashpoint("after_modem_write")
                self._record_stored(part, location)
        if location is None:  # no stored sending here, or no free slot for it right now
            outbox.set_part(self.store, part, "sending")
            crashpoint("during_send")
            reference = self.modem.send(submit)
            crashpoint("after_send")
            self._record_sent(part, reference)
            return
        crashpoint("during_send")
        try:
            reference = self.modem.send_stored(location)
        except CmsError as exc:
            if not _slot_vanished(exc) or rewritten:
                raise
            log.warning("reply %d part %d: %s; writing it again", part.outbox_id, part.seq, exc)
            self._send(self._back_to_pending(part), rewritten=True)
            return
        crashpoint("after_send")
        self._record_sent(part, reference, location)

    def _record_stored(self, part: outbox.OutboxPart, location: int) -> None:
        try:
            outbox.set_part(self.store, part, "stored", location=location)
        except StoreError:
            # Unrecorded, so never to be sent: free the slot, or every retry on a full disk would fill the
            # SIM with copies and leave no room for incoming messages.
            self._free_slot(location)
            raise

    def _record_sent(self, part: outbox.OutboxPart, reference: int | None, location: int | None = None) -> None:
        """Record the send before anything else (the slot is freed only after the record is durable)."""
        key = (part.outbox_id, part.seq)
        try:
            outbox.set_part(self.store, part, "sent", reference=reference)
        except StoreError:
            self._unrecorded[key] = reference
            raise
        self._unrecorded.pop(key, None)
        location = part.location if location is None else location
        if self.stored_sending and location is not None:
            self._free_slot(location)

    def _back_to_pending(self, part: outbox.OutboxPart) -> outbox.OutboxPart:
        outbox.set_part(self.store, part, "pending")
        return dataclasses.replace(part, state="pending", location=None)

    def _free_slot(self, location: int) -> None:
        try:
            self.modem.delete(location)
        except ModemError as exc:  # left for recover() at the next start, which frees such slots
            log.warning("could not free modem storage slot %d: %s", location, exc)

    def _store_outgoing(self, submit: pdu.SubmitPart) -> int | None:
        """A storage slot holding the part, or None when storage is full (incoming messages fill it under
        load faster than they can be read): then the part goes out directly rather than waiting."""
        try:
            return self.modem.store_outgoing(submit)
        except CmsError as exc:
            if exc.code != 322:
                raise
            log.info("modem storage full; sending a reply part directly (AT+CMGS)")
            return None


def _slot_vanished(exc: CmsError) -> bool:
    """CMS 321 "invalid memory index" (CME 21/22 on some modems): the slot was emptied under the modem (a SIM
    swapped or wiped), which says nothing about the part itself; it is written again."""
    return (exc.kind, exc.code) in (("cms", 321), ("cme", 21), ("cme", 22))
