"""SMS PDUs as the modem speaks them in PDU mode (3GPP TS 23.040 §9.2.2): SMS-DELIVER, SMS-SUBMIT and
SMS-STATUS-REPORT, each preceded by the SMSC address.

`decode` turns `+CMGR` / `+CMGL` / `+CMT` / `+CDS` hex into a `Deliver`, `Submit` or `StatusReport`;
`encode_submit` cuts a text into the parts `AT+CMGS` sends; `encode_deliver` and `encode_status_report`
build what a network would send (the simulated modem uses them).
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass, field
from datetime import timedelta

from evy.sms import address, gsm7, segments, timefields, ucs2, udh
from evy.sms.errors import CodecError
from evy.sms.message import Concat, Deliver, Encoding, StatusReport, Submit
from evy.sms.octets import Reader, from_hex

MTI_DELIVER, MTI_SUBMIT, MTI_STATUS_REPORT = 0, 1, 2
FLAG_MMS = 0x04  # DELIVER / STATUS-REPORT: no more messages waiting
FLAG_SRR = 0x20  # SUBMIT: status report requested; DELIVER: status report indication
FLAG_UDHI = 0x40
VPF_NONE, VPF_ENHANCED, VPF_RELATIVE, VPF_ABSOLUTE = 0, 1, 2, 3
PI_PID, PI_DCS, PI_UDL = 0x01, 0x02, 0x04
DCS = {Encoding.GSM7: 0x00, Encoding.BIT8: 0x04, Encoding.UCS2: 0x08}


@dataclass(frozen=True)
class SubmitPart:
    """One SMS-SUBMIT ready for ``AT+CMGS=<tpdu_length>`` followed by ``hex`` and Ctrl-Z.

    A part read back from the outbox is only its ``hex``: the fields (``message``, which a backend that sends
    fields rather than PDUs reads) are decoded from it when first asked for, and then kept.
    """

    hex: str  # SMSC prefix ('00': the SIM's SMSC) + TPDU, upper-case
    tpdu_length: int  # octets after the SMSC prefix
    built_from: Submit | None = field(default=None, compare=False, repr=False)

    @functools.cached_property
    def message(self) -> Submit:
        if self.built_from is not None:
            return self.built_from
        decoded = decode(self.hex)
        if not isinstance(decoded, Submit):
            raise CodecError(f"an outgoing part holds an {type(decoded).__name__}, not an SMS-SUBMIT")
        return decoded


# ---------------------------------------------------------------------------------------------- decoding

def decode(hex_text: str, *, with_smsc: bool = True) -> Deliver | Submit | StatusReport:
    """Decode a PDU; the direction comes from TP-MTI (reserved MTI 3 reads as DELIVER, TS 23.040 §9.2.3.1)."""
    reader = Reader(from_hex(hex_text))
    smsc = address.read_smsc(reader) if with_smsc else None
    first = reader.octet("first octet")
    mti = first & 0x03
    if mti == MTI_SUBMIT:
        return _decode_submit(reader, first, smsc)
    if mti == MTI_STATUS_REPORT:
        return _decode_status_report(reader, first, smsc)
    return _decode_deliver(reader, first, smsc)


def _decode_deliver(reader: Reader, first: int, smsc: str | None) -> Deliver:
    sender = address.read(reader, "sender address")
    protocol_id = reader.octet("protocol identifier")
    encoding = encoding_of(reader.octet("data coding scheme"))
    timestamp = timefields.decode_timestamp(reader.take(timefields.TIMESTAMP_OCTETS, "SMSC timestamp"))
    text, data, concat = _read_user_data(reader, encoding, bool(first & FLAG_UDHI))
    return Deliver(sender=sender, text=text, encoding=encoding, timestamp=timestamp, smsc=smsc,
                   concat=concat, data=data, status_report_indication=bool(first & FLAG_SRR),
                   protocol_id=protocol_id)


def _decode_submit(reader: Reader, first: int, smsc: str | None) -> Submit:
    reference = reader.octet("message reference")
    recipient = address.read(reader, "recipient address")
    reader.octet("protocol identifier")
    encoding = encoding_of(reader.octet("data coding scheme"))
    validity: timedelta | None = None
    vpf = (first >> 3) & 0x03
    if vpf == VPF_RELATIVE:
        validity = timefields.decode_relative_validity(reader.octet("validity period"))
    elif vpf != VPF_NONE:
        reader.take(7, "validity period")  # absolute or enhanced: not a duration, skipped
    text, data, concat = _read_user_data(reader, encoding, bool(first & FLAG_UDHI))
    return Submit(recipient=recipient, text=text, encoding=encoding, smsc=smsc, concat=concat,
                  reference=reference, request_status_report=bool(first & FLAG_SRR), data=data,
                  validity=validity)


def _decode_status_report(reader: Reader, first: int, smsc: str | None) -> StatusReport:
    reference = reader.octet("message reference")
    recipient = address.read(reader, "recipient address")
    timestamp = timefields.decode_timestamp(reader.take(timefields.TIMESTAMP_OCTETS, "SMSC timestamp"))
    discharge = timefields.decode_timestamp(reader.take(timefields.TIMESTAMP_OCTETS, "discharge time"))
    status = reader.octet("status")
    text, encoding = "", Encoding.GSM7
    if reader.remaining:
        # The optional tail is often junk; the reference and status above are what matter.
        with contextlib.suppress(CodecError):
            text, encoding = _read_report_extras(reader, bool(first & FLAG_UDHI))
    return StatusReport(recipient=recipient, reference=reference, status=status, timestamp=timestamp,
                        discharge_time=discharge, smsc=smsc, text=text, encoding=encoding)


def _read_report_extras(reader: Reader, udhi: bool) -> tuple[str, Encoding]:
    indicator = reader.octet("parameter indicator")
    extension = indicator
    while extension & 0x80:  # further TP-PI octets follow; nothing defined in them yet
        extension = reader.octet("parameter indicator")
    if indicator & PI_PID:
        reader.octet("protocol identifier")
    encoding = encoding_of(reader.octet("data coding scheme")) if indicator & PI_DCS else Encoding.GSM7
    if not indicator & PI_UDL:
        return "", encoding
    text, _, _ = _read_user_data(reader, encoding, udhi)
    return text, encoding


def encoding_of(dcs: int) -> Encoding:
    """The alphabet a TP-DCS names (TS 23.038 §4); reserved values read as GSM-7, as the spec says."""
    group = dcs >> 4
    if group <= 0x07:  # general data coding, possibly marked for automatic deletion
        if dcs & 0x20:
            raise CodecError(f"data coding scheme 0x{dcs:02X} means compressed text, which EVY cannot read")
        return (Encoding.GSM7, Encoding.BIT8, Encoding.UCS2, Encoding.GSM7)[(dcs >> 2) & 0x03]
    if group == 0x0E:  # message waiting indication, UCS-2
        return Encoding.UCS2
    if group == 0x0F:  # data coding / message class
        return Encoding.BIT8 if dcs & 0x04 else Encoding.GSM7
    return Encoding.GSM7  # message waiting groups 0xC/0xD and the reserved groups 0x8-0xB


def _read_user_data(reader: Reader, encoding: Encoding, udhi: bool) -> tuple[str, bytes, Concat | None]:
    length = reader.octet("user data length")
    if encoding is Encoding.GSM7:
        body = reader.take(gsm7.packed_length(length), f"user data ({length} septets)")
    else:
        body = reader.take(length, "user data")
    header = udh.UserDataHeader()
    header_octets = 0
    if udhi:
        if not body:
            raise CodecError("user data header indicated but the user data is empty")
        header_octets = 1 + body[0]
        if header_octets > len(body):
            raise CodecError(f"user data header length {body[0]} exceeds the user data ({len(body)} octets)")
        header = udh.parse(body[1:header_octets])
    if encoding is Encoding.GSM7:
        header_septets = (header_octets * 8 + 6) // 7
        if header_septets > length:
            raise CodecError(f"user data header takes {header_septets} septets, user data length is {length}")
        fill_bits = header_septets * 7 - header_octets * 8
        septets = gsm7.unpack(body[header_octets:], length - header_septets, fill_bits)
        text = gsm7.decode(septets, locking=header.locking_shift, single=header.single_shift)
        return text, b"", header.concat
    payload = body[header_octets:]
    if encoding is Encoding.UCS2:
        return ucs2.decode(payload), b"", header.concat
    return payload.decode("latin-1"), payload, header.concat


# ---------------------------------------------------------------------------------------------- encoding

def encode_submit(recipient: str, text: str, *, smsc: str | None = None, reference: int = 0,
                  request_status_report: bool = False, concat_ref: int = 0,
                  encoding: Encoding | None = None, ref_bits: int = 8,
                  validity: timedelta | None = None) -> list[SubmitPart]:
    """The SMS-SUBMIT parts for ``text``: one when it fits, else concatenated parts sharing ``concat_ref``.

    ``reference`` is the TP-MR of the first part (the next parts count up from it); ``validity`` sets a
    relative TP-VP. Text that does not fit the requested ``encoding`` is an error, never a substitution.
    """
    encoding = segments.choose_encoding(text) if encoding is None else Encoding(encoding)
    if not 0 <= reference <= 0xFF:
        raise CodecError(f"message reference {reference} is out of range 0-255")
    segments.udh_length(ref_bits)  # validates ref_bits even when the text fits one part
    chunks = segments.split(text, encoding, ref_bits=ref_bits)
    prefix = address.encode_smsc(smsc)
    destination = address.encode(recipient, field="recipient", alphanumeric=False)
    vp = bytes((timefields.encode_relative_validity(validity),)) if validity is not None else b""
    normalized = address.read(Reader(destination))
    smsc_text = address.read_smsc(Reader(prefix))
    parts: list[SubmitPart] = []
    for index, chunk in enumerate(chunks):
        concat = Concat(ref=concat_ref, total=len(chunks), seq=index + 1, ref_bits=ref_bits) \
            if len(chunks) > 1 else None
        header = udh.encode(concat)
        data = chunk.encode("latin-1") if encoding is Encoding.BIT8 else b""
        length, user_data = _user_data(chunk, encoding, header)
        first = MTI_SUBMIT | (VPF_RELATIVE << 3 if vp else 0) | (FLAG_SRR if request_status_report else 0) \
            | (FLAG_UDHI if header else 0)
        mr = (reference + index) & 0xFF
        tpdu = bytes((first, mr)) + destination + bytes((0x00, DCS[encoding])) + vp + bytes((length,)) \
            + user_data
        message = Submit(recipient=normalized, text=chunk, encoding=encoding, smsc=smsc_text, concat=concat,
                         reference=mr, request_status_report=request_status_report, data=data,
                         validity=timefields.decode_relative_validity(vp[0]) if vp else None)
        parts.append(SubmitPart(hex=(prefix + tpdu).hex().upper(), tpdu_length=len(tpdu), built_from=message))
    return parts


def encode_deliver(msg: Deliver) -> str:
    """The PDU a network would deliver for ``msg`` (with its SMSC prefix), upper-case hex."""
    header = udh.encode(msg.concat)
    encoding = Encoding(msg.encoding)
    if encoding is Encoding.BIT8 and msg.data:
        length, user_data = _octet_user_data(msg.data, header)
    else:
        length, user_data = _user_data(msg.text, encoding, header)
    first = MTI_DELIVER | FLAG_MMS | (FLAG_SRR if msg.status_report_indication else 0) \
        | (FLAG_UDHI if header else 0)
    if not 0 <= msg.protocol_id <= 0xFF:
        raise CodecError(f"protocol identifier {msg.protocol_id} is out of range 0-255")
    tpdu = bytes((first,)) + address.encode(msg.sender, field="sender") + bytes((msg.protocol_id, DCS[encoding])) \
        + timefields.encode_timestamp(msg.timestamp) + bytes((length,)) + user_data
    return (address.encode_smsc(msg.smsc) + tpdu).hex().upper()


def encode_status_report(report: StatusReport) -> str:
    """The SMS-STATUS-REPORT PDU a network would send for ``report`` (with its SMSC prefix)."""
    if not 0 <= report.reference <= 0xFF:
        raise CodecError(f"message reference {report.reference} is out of range 0-255")
    if not 0 <= report.status <= 0xFF:
        raise CodecError(f"status {report.status} is out of range 0-255")
    tpdu = bytes((MTI_STATUS_REPORT | FLAG_MMS, report.reference)) \
        + address.encode(report.recipient, field="recipient") \
        + timefields.encode_timestamp(report.timestamp) + timefields.encode_timestamp(report.discharge_time) \
        + bytes((report.status,))
    if report.text:
        encoding = Encoding(report.encoding)
        length, user_data = _user_data(report.text, encoding, b"")
        tpdu += bytes((PI_DCS | PI_UDL, DCS[encoding], length)) + user_data
    return (address.encode_smsc(report.smsc) + tpdu).hex().upper()


def tpdu_length(hex_text: str) -> int:
    """Octets after the SMSC prefix: the ``<length>`` of ``AT+CMGS`` for this PDU."""
    data = from_hex(hex_text)
    smsc_octets = 1 + data[0]
    if smsc_octets >= len(data):
        raise CodecError(f"PDU truncated: SMSC prefix takes {smsc_octets} octets of {len(data)}")
    return len(data) - smsc_octets


def _user_data(text: str, encoding: Encoding, header: bytes) -> tuple[int, bytes]:
    """TP-UDL and TP-UD for ``text`` after ``header`` (a UDH with its length octet, or empty)."""
    if encoding is Encoding.GSM7:
        septets = gsm7.encode(text)
        header_septets = (len(header) * 8 + 6) // 7
        length = header_septets + len(septets)
        if length > 160:
            raise CodecError(f"user data too long: {length} septets, one SMS holds 160 (split it first)")
        fill_bits = header_septets * 7 - len(header) * 8
        return length, header + gsm7.pack(septets, fill_bits)
    if encoding is Encoding.UCS2:
        return _octet_user_data(ucs2.encode(text), header)
    try:
        payload = text.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise CodecError(f"8-bit data carries only U+0000-U+00FF, got U+{ord(text[exc.start]):04X}") from None
    return _octet_user_data(payload, header)


def _octet_user_data(payload: bytes, header: bytes) -> tuple[int, bytes]:
    length = len(header) + len(payload)
    if length > segments.USER_DATA_OCTETS:
        raise CodecError(f"user data too long: {length} octets, one SMS holds 140 (split the text first)")
    return length, header + payload
