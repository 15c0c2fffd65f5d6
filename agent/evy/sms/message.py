"""The SMS values every layer shares: what the codec decodes to, the modem hands over and the store keeps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Encoding(StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"
    BIT8 = "8bit"


@dataclass(frozen=True)
class Concat:
    """TP-UDH concatenation: part ``seq`` (1-based) of ``total`` parts sharing reference ``ref``."""

    ref: int
    total: int
    seq: int
    ref_bits: int = 8  # 8 or 16: which information element carried it


@dataclass(frozen=True)
class Deliver:
    """An SMS-DELIVER: a message received from a phone."""

    sender: str  # "+2547…" for international numbers, digits for national ones, text for alphanumeric
    text: str
    encoding: Encoding
    timestamp: datetime | None  # SMSC timestamp (SCTS), timezone-aware
    smsc: str | None = None
    concat: Concat | None = None
    data: bytes = b""  # the raw user data of 8-bit messages (text is then its latin-1 reading)
    status_report_indication: bool = False
    protocol_id: int = 0  # TP-PID

    @property
    def silent(self) -> bool:
        """A "Short Message Type 0" (TP-PID 0x40): a network or location ping that phones acknowledge and
        discard without showing it (TS 23.040 §9.2.3.9); it must never get a reply."""
        return self.protocol_id == 0x40


@dataclass(frozen=True)
class Submit:
    """An SMS-SUBMIT: one part of a message the kit sends."""

    recipient: str
    text: str
    encoding: Encoding
    smsc: str | None = None
    concat: Concat | None = None
    reference: int = 0  # TP-MR; modems usually overwrite it
    request_status_report: bool = False
    data: bytes = b""
    validity: timedelta | None = None  # relative TP-VP; None leaves it to the SMSC


@dataclass(frozen=True)
class StatusReport:
    """An SMS-STATUS-REPORT: the network's word on a part the kit sent (TP-ST in ``status``)."""

    recipient: str
    reference: int
    status: int
    timestamp: datetime | None  # SCTS of the original submission
    discharge_time: datetime | None
    smsc: str | None = None
    text: str = ""  # optional user data some networks attach
    encoding: Encoding = Encoding.GSM7

    @property
    def delivered(self) -> bool:
        return self.status < 0x20

    @property
    def final(self) -> bool:
        """False while the SMSC is still trying (TP-ST 0x20–0x3F)."""
        return not 0x20 <= self.status < 0x40


Pdu = Deliver | Submit | StatusReport
