"""The agent's main loop: one thread owns the modem and the store; worker threads run slow follow-ups (one for
emergencies, so theirs never queue behind a routine one waiting for a model or a big node).

Ordering is what makes the promises hold:
- a received part is committed before it is deleted from the SIM (a crash re-reads it; the store's unique
  key makes that a no-op), so nothing is lost and nothing is stored twice;
- a message is closed and its reply queued in one transaction, so it is answered at most once;
- each reply part is written to modem storage (AT+CMGW), recorded, then sent from storage (AT+CMSS): after a
  crash the slot's sent/unsent flag says whether it went out, so it is sent exactly once. Modems or
  backends without stored sending use AT+CMGS after a durable 'sending' mark and resend after a crash
  (a possible duplicate rather than a lost emergency reply).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from evy.cases.state import Case
from evy.compress import needs_ucs2
from evy.config import Config
from evy.crash import crashpoint
from evy.health.recorder import HealthRecorder
from evy.meshtastic.orders import meshtastic_orders
from evy.meshtastic.trust import may_use
from evy.messages import Inbound, Priority, Reply
from evy.pipeline.commands import Command, command_language, command_reply, parse_command
from evy.pipeline.conversation import Conversation
from evy.pipeline.guards import Guards, Verdict
from evy.pipeline.sdnotify import Notifier
from evy.pipeline.sender import Sender
from evy.responder.base import Responder
from evy.sms import modem as modem_api
from evy.sms.errors import CodecError, StoredPduError
from evy.sms.message import Deliver
from evy.store import Store, StoreError, held, inbox, modem_state, outbox, report, unreadable
from evy.store import broadcasts as broadcast_store
from evy.store import cases as case_store
from evy.store import health as store_health
from evy.store import localinfo as localinfo_store
from evy.store.meshtastic import SMS_RELAY
from evy.store.optouts import is_opted_out, set_opted_out
from evy.triage import Triage

if TYPE_CHECKING:  # a kit off the mesh never imports it (asyncio, the mesh's crypto)
    from evy.meshtastic.gateway import MeshtasticGateway
    from evy.pipeline.meshlink import MeshLink

log = logging.getLogger("evy.agent")

RETENTION_EVERY = 3600.0


class Agent:
    def __init__(self, config: Config, modem: modem_api.Modem, store: Store, responder: Responder,
                 mesh: MeshLink | None = None, meshtastic: MeshtasticGateway | None = None):
        self.config = config
        self.modem = modem
        self.store = store
        self.responder = responder
        self.mesh = mesh
        self.meshtastic = meshtastic
        self.guards = Guards(config)
        self.sender = Sender(config, modem, store, mesh)
        self.conversation = Conversation(config, store, responder)
        self.health = HealthRecorder(config, store, modem, responder, mesh)
        self.notifier = Notifier()
        self.stop_event = threading.Event()
        self._followups: queue.Queue[tuple[Inbound, Reply | None]] = queue.Queue()
        self._followup_jobs: queue.Queue[tuple[Inbound, Reply, Triage | None]] = queue.Queue()
        # Emergencies have a worker of their own: their follow-up (knowledge-base text) must not queue behind
        # a routine one that waits for a model or a big node on the mesh (the responder is thread-safe).
        self._emergency_jobs: queue.Queue[tuple[Inbound, Reply, Triage | None]] = queue.Queue()
        # Daemon threads, not an executor: a follow-up still thinking must never hold up SIGTERM.
        self._workers = [threading.Thread(target=self._follow_up_worker, args=(jobs,), name=name, daemon=True)
                         for jobs, name in ((self._followup_jobs, "evy-followup"),
                                            (self._emergency_jobs, "evy-followup-emergency"))]
        self._last_retention = 0.0
        self._followups_running = 0
        self._recorded_status: modem_api.ModemStatus | None = None
        self._held_on_sim: dict[int, str] = {}  # location -> PDU, kept on the SIM while the store is in memory

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Recover what a crash left half done, then read the SIM's backlog."""
        self.responder.warm()
        for worker in self._workers:
            if not worker.is_alive():
                worker.start()
        self.sender.recover()
        self.read_sim_storage()
        self.process()
        self._record_modem_state()
        self.notifier.ready("receiving")

    def stop(self) -> None:
        self.stop_event.set()

    # -- one turn of the loop --------------------------------------------------------------------------
    def step(self, max_wait: float | None = None) -> None:
        timeout = self._idle_timeout() if max_wait is None else min(max_wait, self._idle_timeout())
        for event in self.modem.wait_events(timeout):
            self.handle_event(event)
        self.process()
        self.notifier.progress()

    def handle_event(self, event: modem_api.ModemEvent) -> None:
        match event:
            case modem_api.NewMessage(location=location):
                try:
                    stored = self.modem.read(location)
                except StoredPduError as exc:
                    self.quarantine(exc.location, exc.pdu, str(exc))
                    return
                if stored is not None:
                    self.ingest(stored)
            case modem_api.UnreadableMessage(location=location, pdu=raw, reason=reason):
                self.quarantine(location, raw, reason)
            case modem_api.InlineMessage(message=message, pdu=raw):
                self._store_part(message, raw)
            case modem_api.StatusReportEvent(report=report, location=location):
                if not outbox.record_report(self.store, report):
                    log.info("delivery report for unknown reference %d", report.reference)
                if location is not None:
                    self.modem.delete(location)
            case modem_api.ModemRestarted() | modem_api.StorageFull():
                log.info("%s: reading the modem's storage again", event)
                for stored in self.modem.list_stored():
                    self.ingest(stored)
        self._record_modem_state()

    def read_sim_storage(self) -> None:
        """Store every message the modem holds (the backlog, or what the SIM kept while the store was in
        memory: those are already stored and are only freed now)."""
        if self.store.durable:
            self._held_on_sim.clear()
        for stored in self.modem.list_stored():
            self.ingest(stored)

    def ingest(self, stored: modem_api.StoredMessage) -> None:
        """Keep a part durably, then free its SIM slot (in that order: a crash between re-reads it). A store
        in memory is not durable: the SIM keeps the message until the store is on disk again."""
        self._store_part(stored.message, stored.pdu)
        if not self.store.durable:
            self._held_on_sim[stored.location] = stored.pdu
            return
        self.modem.delete(stored.location)
        crashpoint("after_sim_delete")

    def _free_settled(self) -> None:
        """With the store in memory: free the SIM slots of messages that are answered and whose replies left."""
        if self.store.durable:  # back on disk: read_sim_storage stores and frees them all
            self._held_on_sim.clear()
            return
        for location, pdu in list(self._held_on_sim.items()):
            if held.settled(self.store, pdu):
                self.modem.delete(location)
                del self._held_on_sim[location]
                crashpoint("after_sim_delete")

    def quarantine(self, location: int | None, raw_pdu: str, reason: str) -> None:
        """An undecodable PDU: keep it raw (durably), then free its slot. Nothing is lost, nothing jams."""
        unreadable.keep(self.store, raw_pdu, reason)
        if self.store.durable:
            self.modem.delete(location)
        log.error("kept an undecodable message (storage slot %s) in the database: %s", location, reason)

    def _store_part(self, message: Deliver, raw_pdu: str) -> None:
        if message.silent:  # a network "Type-0" ping: acknowledged by the modem, never answered
            log.info("silent (Type-0) SMS from %s dropped", message.sender)
            return
        crashpoint("after_receive")
        if not inbox.add_part(self.store, message, raw_pdu):
            log.info("part from %s read again after a restart; already stored", message.sender)
        crashpoint("after_store")

    def process(self) -> None:
        """Everything that doesn't wait on the modem: assemble, answer, queue follow-ups, send."""
        if self.meshtastic is not None:
            self.meshtastic.receive(self.store)
        inbox.assemble(self.store, self.config["store.multipart_timeout"])
        for message in inbox.pending(self.store):
            self.answer(message)
        while not self._followups.empty():
            message, reply = self._followups.get_nowait()
            self._followups_running -= 1
            if reply is not None and inbox.written_since(self.store, message.sender, message.message_id):
                # The conversation has moved on ("he is breathing now"): more CPR detail would contradict it.
                log.info("follow-up to message %d dropped: %s has written since", message.message_id,
                         message.sender)
                store_health.bump(self.store, "followup_dropped")  # counted for /metrics
            elif reply is not None:
                self.queue_reply(message, reply, kind="followup")
        if self.mesh is not None:
            self._mesh_hand_overs()
        self.sender.flush()
        if self.meshtastic is not None:
            self.meshtastic.send(self.store)
        if self._held_on_sim:
            self._free_settled()
        self._retention()
        self.health.maybe_record()  # at most every health.snapshot_interval, for the console

    # -- answering -------------------------------------------------------------------------------------
    def answer(self, stored: inbox.InboundMessage) -> None:
        message = stored.inbound
        verdict = self.guards.sender_verdict(message.sender)
        if verdict is not Verdict.ANSWER:
            self._close(message, verdict)
            return
        command = parse_command(message.text)
        if command is not None and not may_use(stored.encoding, command):
            command = None  # unauthenticated Meshtastic traffic: the word is read as plain text
        if command is Command.STOP:
            self._stop(message)
            return
        # Commands obey the rate limit and the loop breaker like any text (a HELP flood, an auto-responder
        # answering INFO); START alone reaches an opted-out sender.
        verdict = self.guards.traffic_verdict(self.store, message.sender, message.text,
                                              honour_opt_out=command is not Command.START)
        if verdict is not Verdict.ANSWER:
            self._close(message, verdict)
            return
        if (handled := meshtastic_orders(self.store, self.config, stored.encoding, message, command)) is not None:
            self.queue_reply(message, handled.reply, kind="reply", verdict=handled.verdict,
                             recipient=handled.recipient, also=handled.also)
            return
        if command is not None:
            language = command_language(message.text)
            reply = Reply(command_reply(command, self.config.emergency_number, language), priority=Priority.COMMAND)
            self.queue_reply(message, reply, kind="reply", verdict=f"command: {command}",
                             opt_in=command is Command.START,
                             subscribe=language if command is Command.JOIN else None,
                             unsubscribe=command is Command.LEAVE)
            return
        case: Case | None = None
        triaged: Triage | None = None
        try:
            answered = self.conversation.answer(message)
            reply, case, triaged = answered.reply, answered.case, answered.triaged
        except StoreError:
            raise  # the loop pauses and the message is answered once the store works again
        except Exception:  # a responder bug must not stop the kit answering: fall back to the template
            log.exception("responder failed on message %d; sending the safety template", message.message_id)
            from evy.responder.basic import BasicResponder

            reply = BasicResponder(self.config).respond(message)
        if reply is None:
            self._close(message, Verdict.ANSWER, case)
            return
        self.queue_reply(message, reply, kind="reply", keep_ucs2=needs_ucs2(message.text), case=case)
        if reply.wants_followup:
            self._followups_running += 1
            (self._emergency_jobs if reply.emergency else self._followup_jobs).put((message, reply, triaged))

    def _stop(self, message: Inbound) -> None:
        """STOP is free: always honoured, whatever the limits. It is confirmed once; a repeated STOP (an
        auto-responder answering the confirmation) is honoured in silence, so it cannot loop."""
        if is_opted_out(self.store, message.sender):
            self._close(message, Verdict.STOP_REPEATED)
            return
        reply = Reply(command_reply(Command.STOP, self.config.emergency_number), priority=Priority.COMMAND)
        self.queue_reply(message, reply, kind="reply", verdict=f"command: {Command.STOP}", opt_out=True)

    def _follow_up_worker(self, jobs: queue.Queue[tuple[Inbound, Reply, Triage | None]]) -> None:
        while True:
            message, first, triaged = jobs.get()
            extra = None
            try:
                deadline = time.monotonic() + self.config["llm.timeout"]  # then the first reply stands alone
                extra = self.responder.follow_up(message, first, deadline, triaged)
            except Exception:
                log.exception("follow-up failed for message %d; the first reply stands", message.message_id)
            self._followups.put((message, extra))

    def queue_reply(self, message: Inbound, reply: Reply, *, kind: str, verdict: str = "answered",
                    keep_ucs2: bool = False, opt_out: bool = False, opt_in: bool = False,
                    case: Case | None = None, subscribe: str | None = None, unsubscribe: bool = False,
                    recipient: str | None = None, also: tuple[str, Reply] | None = None) -> None:
        # Not durable on its own: if a power cut loses it, nothing has left yet and the message is answered
        # again. The durable commit before the first part leaves (stored sending) syncs it too. The case
        # update commits with the reply: a crash keeps both or neither.
        with self.store.transaction(durable=False) as db:
            if case is not None:
                case_store.save(db, replace(case, last_out_at=time.time()))
                case_store.attach_message(db, message.message_id, case.id)
            self.sender.enqueue(db, message_id=message.message_id, kind=kind, recipient=recipient or message.sender,
                                reply=reply, keep_ucs2=keep_ucs2)
            if also is not None:  # an SMS a Meshtastic user had the kit send: queued with its confirmation
                self.sender.enqueue(db, message_id=message.message_id, kind=SMS_RELAY, recipient=also[0],
                                    reply=also[1])
            if opt_out or opt_in:
                set_opted_out(db, message.sender, stopped=opt_out)
            if subscribe is not None:  # JOIN, in the language of its word: broadcasts until LEAVE or STOP
                broadcast_store.subscribe(db, message.sender, subscribe)
            if unsubscribe:
                broadcast_store.unsubscribe(db, message.sender)
            if kind == "reply":
                inbox.mark_handled(db, message.message_id, verdict)
        crashpoint("after_reply_queued")

    def _mesh_hand_overs(self) -> None:
        from evy.pipeline import handover  # only on a kit in a mesh (it loads the mesh's codecs)

        for relayed in self.mesh.take_relays():
            try:
                with self.store.transaction() as db:
                    self.sender.enqueue(db, message_id=None, kind="relay", recipient=relayed.number,
                                        reply=Reply(relayed.text, priority=relayed.priority),
                                        keep_ucs2=needs_ucs2(relayed.text))
            except CodecError as exc:  # mesh input is untrusted: one bad relay must not stop the kit
                log.warning("rejected an SMS relay from kit %#x: %s", relayed.source, exc)
                continue
            log.info("sending a reply to %s for kit %#x", relayed.number, relayed.source)
        handover.receive(self.store, self.sender, self.mesh.take_handovers())
        handover.send_due(self.store, self.mesh)
        for mesh_id, delivered in handover.settle(self.store, self.mesh.take_outcomes()):
            outbox.relay_outcome(self.store, mesh_id, delivered, retry_after=self.config["outbox.backoff"])
        self.mesh.queue_depth = report.queued_replies(self.store)  # its beacons tell other kits

    def _close(self, message: Inbound, verdict: Verdict, case: Case | None = None) -> None:
        with self.store.transaction(durable=False) as db:
            if case is not None:  # answered by nothing, but still part of the sender's conversation
                case_store.save(db, case)
                case_store.attach_message(db, message.message_id, case.id)
            inbox.mark_handled(db, message.message_id, str(verdict))
        log.info("message %d from %s: %s", message.message_id, message.sender, verdict)

    # -- housekeeping ----------------------------------------------------------------------------------
    def _idle_timeout(self) -> float:
        now = time.time()
        deadlines = [now + self.config["modem.heartbeat"]]
        for when in (outbox.next_due_time(self.store),
                     inbox.next_multipart_deadline(self.store, self.config["store.multipart_timeout"])):
            if when is not None:
                deadlines.append(when)
        if not self._followups.empty():
            return 0.0
        if self._followups_running:
            deadlines.append(now + 0.2)  # collect follow-ups promptly while the modem is quiet
        return max(0.0, min(deadlines) - now)

    def _retention(self) -> None:
        now = time.time()
        if now - self._last_retention < RETENTION_EVERY:
            return
        self._last_retention = now
        removed = inbox.purge(self.store, now - self.config["store.retention_days"] * 86400)
        broadcast_store.purge(self.store, now - self.config["store.retention_days"] * 86400)
        localinfo_store.purge_expired(self.store, now - self.config["store.retention_days"] * 86400)
        if removed:
            log.info("retention: removed %d handled messages", removed)
        closed = case_store.close_quiet(self.store, now, self.config["cases.quiet_close"])
        if closed:
            log.info("closed %d quiet cases", closed)
        self._record_modem_state()

    def _record_modem_state(self) -> None:
        status = self.modem.status()
        if status == self._recorded_status:
            return
        self._recorded_status = status
        modem_state.record(self.store, state=status.state, signal="" if status.signal is None else str(status.signal),
                           operator=status.operator or "", last_error=status.last_error or "")
