"""The simulated network's side of SMS: the DELIVER PDUs a phone's message turns into (in any order, with
parts missing or repeated), the status reports for what the kit sent, and ``NetworkSide``, the layer of the
simulated modem that receives them (stored on the SIM with +CMTI, pushed with +CMT, or held by the network
while the SIM is full or the modem unreachable) and hands SUBMITs to the network."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from evy.sms import pdu as pdu_codec
from evy.sms import segments
from evy.sms.message import Concat, Deliver, Encoding, StatusReport, Submit
from evy.sms.simulator.state import DEFAULT_SMSC, ModemState, SentMessage, Slot, log

_concat_refs = itertools.count(1)


def deliver_parts(sender: str, text: str, *, timestamp: datetime | None = None,
                  smsc: str | None = DEFAULT_SMSC, encoding: Encoding | None = None,
                  concat_ref: int | None = None, ref_bits: int = 8,
                  order: Sequence[int] | None = None, missing: Iterable[int] = (),
                  duplicate: Iterable[int] = ()) -> list[tuple[Deliver, str]]:
    """The (Deliver, PDU hex) pairs the network would deliver for ``text`` from ``sender``.

    ``order`` lists 1-based part numbers in arrival order (default 1..n); ``missing`` parts never arrive;
    ``duplicate`` parts arrive twice (the repeat right after the first copy).
    """
    encoding = segments.choose_encoding(text) if encoding is None else Encoding(encoding)
    chunks = segments.split(text, encoding, ref_bits=ref_bits)
    if timestamp is None:
        timestamp = datetime.now(timezone(timedelta(hours=3))).replace(microsecond=0)
    ref = (next(_concat_refs) if concat_ref is None else concat_ref) & (0xFF if ref_bits == 8 else 0xFFFF)
    total = len(chunks)
    messages = [Deliver(sender=sender, text=chunk, encoding=encoding, timestamp=timestamp, smsc=smsc,
                        concat=Concat(ref, total, seq, ref_bits) if total > 1 else None)
                for seq, chunk in enumerate(chunks, start=1)]
    sequence = list(order) if order is not None else list(range(1, total + 1))
    if sorted(set(sequence)) != sorted(sequence) or not all(1 <= n <= total for n in sequence):
        raise ValueError(f"order must list distinct part numbers 1..{total}, got {sequence}")
    skipped, repeated = set(missing), set(duplicate)
    result = []
    for number in sequence:
        if number in skipped:
            continue
        message = messages[number - 1]
        encoded = pdu_codec.encode_deliver(message)
        result.append((message, encoded))
        if number in repeated:
            result.append((message, encoded))
    return result


def status_report_for(sent: SentMessage, status: int = 0x00, smsc: str | None = DEFAULT_SMSC,
                      delay: timedelta = timedelta(seconds=2)) -> tuple[StatusReport, str]:
    """The report the network sends back for ``sent`` (TP-ST ``status``: 0 delivered, 0x40+ failed)."""
    submitted = datetime.now(UTC).replace(microsecond=0)
    report = StatusReport(recipient=sent.submit.recipient, reference=sent.reference, status=status,
                          timestamp=submitted, discharge_time=submitted + delay, smsc=smsc)
    return report, pdu_codec.encode_status_report(report)


class NetworkSide(ModemState):
    """The network's side of the simulated modem: what phones send arrives here, what the kit sends leaves."""

    # --- incoming messages and reports

    def deliver(self, sender: str, text: str, *, timestamp: datetime | None = None,
                smsc: str | None = DEFAULT_SMSC, encoding: Encoding | None = None,
                concat_ref: int | None = None, ref_bits: int = 8, order: Sequence[int] | None = None,
                missing: Iterable[int] = (), duplicate: Iterable[int] = ()) -> list[Deliver]:
        """A phone sends ``text``: its parts arrive (in ``order``, without ``missing``, ``duplicate`` twice),
        each stored on the SIM with a +CMTI (or pushed with +CMT, or held by the network if the SIM is full).
        Returns the parts in arrival order."""
        parts = deliver_parts(sender, text, timestamp=timestamp, smsc=smsc, encoding=encoding,
                              concat_ref=concat_ref, ref_bits=ref_bits, order=order, missing=missing,
                              duplicate=duplicate)
        with self._lock:
            for _message, encoded in parts:
                self._network_deliver(encoded)
        return [message for message, _ in parts]

    def deliver_pdu(self, pdu: str) -> None:
        """Deliver a raw DELIVER PDU (with SMSC prefix), e.g. a malformed one recorded from a real modem."""
        with self._lock:
            self._network_deliver(pdu.upper())

    def store(self, pdu: str, stat: int = 0) -> int:
        """Put a PDU straight into SIM storage without any indication (a backlog from before start-up)."""
        with self._lock:
            index = self._free_slot()
            if index is None:
                raise RuntimeError("simulated SIM storage is full")
            self.storage[index] = Slot(stat, pdu.upper())
            return index

    def wait_sent(self, count: int, timeout: float = 5.0) -> list[SentMessage]:
        """Block until at least ``count`` messages were sent; returns them all (TimeoutError otherwise)."""
        deadline = time.monotonic() + timeout
        with self._sent_changed:
            while len(self.sent) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"simulated modem: {len(self.sent)} of {count} messages sent in time")
                self._sent_changed.wait(remaining)
            return list(self.sent)

    # --- registration

    def set_registered(self, registered: bool, after: float = 0.0) -> None:
        """Registration changes now or ``after`` seconds (CREG 0,2 searching ↔ 0,1 home); once registered,
        the network delivers what it held."""
        with self._lock:
            if after > 0:
                self._timers.append((time.monotonic() + after, lambda: self._set_registered(registered)))
                self._wake()
            else:
                self._set_registered(registered)

    def _set_registered(self, registered: bool) -> None:
        self.registered = registered
        self._release_network_queue()

    def _after_boot(self) -> None:
        self._release_network_queue()

    # --- the network's work

    def _send(self, submit: Submit, hex_text: str, stored: Slot | None) -> None:
        """Hand an accepted SUBMIT to the network: it gets the next TP-MR, the +CMGS (or +CMSS for ``stored``)
        answer goes out, and a status report follows if one was asked for."""
        reference = self.next_reference
        self.next_reference = (self.next_reference + 1) & 0xFF
        sent = SentMessage(reference, replace(submit, reference=reference), hex_text.upper(),
                           time.monotonic())
        self.sent.append(sent)
        self._sent_changed.notify_all()
        if stored is not None:
            stored.stat = 3  # STO SENT: kept in storage (it survives an agent crash or a reboot)
        if self.on_sent is not None:
            self.on_sent(sent)
        self._answer([f"+CMSS: {reference}" if stored is not None else f"+CMGS: {reference}"])
        status = self.report_for(sent) if self.report_for is not None else self.report_status
        if submit.request_status_report and status is not None:
            self._timers.append((time.monotonic() + self.report_delay,
                                 lambda: self._status_report(sent, status)))

    def _network_deliver(self, hex_text: str) -> None:
        if not self.sim_inserted or self._state.sim_state != "READY" or not self.registered:
            self.network_queue.append(hex_text)  # the network keeps it until the phone is reachable
            return
        mt = self._state.cnmi[1]
        if mt in (2, 3) and not self._silent():
            self._urc(f"+CMT: ,{pdu_codec.tpdu_length(hex_text)}", hex_text)
            return
        receive = self._state.receive_storage
        index = self._free_slot(receive)
        if index is None:
            self.network_queue.append(hex_text)  # memory capacity exceeded: the network retries later
            log.info("simulated SIM full; message held by the network (%d waiting)", len(self.network_queue))
            return
        self.memories[receive][index] = Slot(0, hex_text)
        if mt == 1:
            self._urc(f'+CMTI: "{receive}",{index}')

    def _release_network_queue(self) -> None:
        while self.network_queue and self._free_slot(self._state.receive_storage) is not None \
                and self.registered:
            self._network_deliver(self.network_queue.popleft())

    def _status_report(self, sent: SentMessage, status: int) -> None:
        _report, hex_text = status_report_for(sent, status)
        ds = self._state.cnmi[3]
        if ds == 1:
            self._urc(f"+CDS: {pdu_codec.tpdu_length(hex_text)}", hex_text)
        elif ds == 2:
            receive = self._state.receive_storage
            index = self._free_slot(receive)
            if index is not None:
                self.memories[receive][index] = Slot(0, hex_text)
                self._urc(f'+CDSI: "{receive}",{index}')
