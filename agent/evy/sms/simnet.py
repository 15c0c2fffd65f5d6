"""The simulated network's side of SMS: the DELIVER PDUs a phone's message turns into (in any order, with
parts missing or repeated) and the status reports for what the kit sent. Used by the simulated modem."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone

from evy.sms import pdu, segments
from evy.sms.message import Concat, Deliver, Encoding, StatusReport, Submit

DEFAULT_SMSC = "+254722000000"
_concat_refs = itertools.count(1)


@dataclass(frozen=True)
class SentMessage:
    """One SMS-SUBMIT the kit handed to the simulated network."""

    reference: int  # the TP-MR the modem answered with (+CMGS)
    submit: Submit  # decoded, with ``reference`` set to that TP-MR
    pdu: str
    at: float  # time.monotonic() when it was accepted


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
        encoded = pdu.encode_deliver(message)
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
    return report, pdu.encode_status_report(report)


def with_reference(submit: Submit, reference: int) -> Submit:
    return replace(submit, reference=reference)
