"""Malformed PDUs and impossible requests give one-line `CodecError`s, never IndexError or a crash."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from evy.sms import pdu
from evy.sms.errors import CodecError
from evy.sms.message import Concat, Deliver, Encoding, StatusReport

HELLO = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
KENYA = "0C91527421436587"
TS = "62116211000000"


@pytest.mark.parametrize(("hex_text", "message"), [
    ("", "PDU is empty"),
    ("   ", "PDU is empty"),
    ("079", "odd number of digits"),
    ("07zz", "not hex: unexpected character 'z'"),
    ("0791", "PDU truncated: SMSC address needs 6 octets, 0 left"),
    ("07917283010010F5", "PDU truncated: first octet missing"),
    (HELLO[:20], "PDU truncated: sender address type missing"),
    (HELLO[:22], "PDU truncated: sender address needs 6 octets, 0 left"),
    (HELLO[:-4], "PDU truncated: user data (10 septets) needs 9 octets, 7 left"),
    ("00" "04" + KENYA + "0008" + TS + "0C" "041F", "PDU truncated: user data needs 12 octets, 2 left"),
    ("00" "44" + KENYA + "0008" + TS + "04" "09000300", "user data header length 9 exceeds the user data"),
    ("00" "44" + KENYA + "0008" + TS + "04" "03000500", "IE 0x00 needs 5 octets, 1 left"),
    ("00" "44" + KENYA + "0000" + TS + "02" "0500", "header length 5 exceeds the user data (2 octets)"),
    ("00" "44" + KENYA + "0000" + TS + "06" "050003010201", "header takes 7 septets, user data length is 6"),
    ("00" "44" + KENYA + "0008" + TS + "00", "user data header indicated but the user data is empty"),
    ("00" "04" + KENYA + "0020" + TS + "00", "compressed"),
    ("40" + HELLO[2:], "SMSC length 64 octets is impossible"),
    ("00" "06" "2A" + KENYA + TS, "PDU truncated: discharge time needs 7 octets, 0 left"),
])
def test_malformed_pdus(hex_text, message):
    with pytest.raises(CodecError, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
        pdu.decode(hex_text)
    assert "\n" not in str(caught.value)


def test_hex_is_forgiving_about_case_and_whitespace():
    assert pdu.decode(" " + HELLO.lower()[:30] + "\n" + HELLO[30:] + "\r\n").text == "hellohello"


def test_impossible_timestamps_read_as_none():
    bad_month = "00" "04" + KENYA + "0000" "62316211000000" "01" "41"
    bad_digit = "00" "04" + KENYA + "0000" "6F116211000000" "01" "41"
    assert pdu.decode(bad_month).timestamp is None
    assert pdu.decode(bad_digit).timestamp is None
    assert pdu.decode(bad_month).text == "A"


@pytest.mark.parametrize(("call", "message"), [
    (lambda: pdu.encode_submit("Bank", "x"), "recipient 'Bank' is not a phone number"),
    (lambda: pdu.encode_submit("+", "x"), "recipient '+' is not a phone number"),
    (lambda: pdu.encode_submit("+" + "1" * 21, "x"), "recipient has 21 digits, at most 20"),
    (lambda: pdu.encode_submit("+254712345678", "x", smsc="SMSC"), "SMSC 'SMSC' is not a phone number"),
    (lambda: pdu.encode_submit("+254712345678", "ż", encoding=Encoding.GSM7), "not GSM-7: 'ż'"),
    (lambda: pdu.encode_submit("+254712345678", "ж", encoding=Encoding.BIT8), "8-bit"),
    (lambda: pdu.encode_submit("+254712345678", "x", reference=256), "message reference 256"),
    (lambda: pdu.encode_submit("+254712345678", "x" * 200, concat_ref=256), "reference 256 is out of range"),
    (lambda: pdu.encode_submit("+254712345678", "x", ref_bits=12), "8 or 16 bits"),
    (lambda: pdu.encode_submit("+254712345678", "x", validity=timedelta(0)), "must be positive"),
    (lambda: pdu.encode_submit("+254712345678", "x", validity=timedelta(weeks=64)), "63 weeks"),
    (lambda: pdu.encode_submit("+254712345678", "\ud83d"), "unpaired surrogate"),
    (lambda: pdu.encode_deliver(Deliver("+1", "x" * 161, Encoding.GSM7, None)), "161 septets"),
    (lambda: pdu.encode_deliver(Deliver("+1", "ж" * 71, Encoding.UCS2, None)), "142 octets"),
    (lambda: pdu.encode_deliver(Deliver("Very Long Name", "x", Encoding.GSM7, None)), "too long: 14 septets"),
    (lambda: pdu.encode_deliver(Deliver("Bänk😀", "x", Encoding.GSM7, None)), "cannot carry"),
    (lambda: pdu.encode_deliver(Deliver("+1", "x", Encoding.GSM7, None, concat=Concat(1, 2, 3))),
     "part 3 of 2"),
    (lambda: pdu.encode_deliver(Deliver("+1", "x", Encoding.GSM7, datetime(2100, 1, 1, tzinfo=UTC))),
     "year 2100"),
    (lambda: pdu.encode_deliver(Deliver("+1", "x", Encoding.GSM7,
                                        datetime(2026, 1, 1, tzinfo=timezone(timedelta(minutes=20))))),
     "quarter-hours"),
    (lambda: pdu.encode_status_report(StatusReport("+1", 300, 0, None, None)), "reference 300"),
    (lambda: pdu.tpdu_length("05"), "SMSC prefix takes 6 octets of 1"),
])
def test_impossible_requests(call, message):
    with pytest.raises(CodecError, match=message.replace("+", r"\+")) as caught:
        call()
    assert "\n" not in str(caught.value)


def _decode_or_codec_error(data: bytes, with_smsc: bool) -> None:
    try:
        message = pdu.decode(data.hex(), with_smsc=with_smsc)
    except CodecError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(message.text, str)
    message.text.encode("utf-8")  # printable as JSON: no lone surrogates


@given(st.binary(max_size=200), st.booleans())
@example(b"\x00\x40\x00\x00\x00\x00" + bytes(7) + b"\x01\x05", False)
def test_fuzz_random_bytes(data, with_smsc):
    _decode_or_codec_error(data, with_smsc)


VALID = [
    HELLO,
    "00" "44" + KENYA + "0000" + TS + "0A" "06080412340301" "E834",
    "00" "44" + KENYA + "0008" + TS + "10" "0B0A04000A01000003050302" "00680069",
    "00" "06" "2A" + KENYA + TS + TS + "00" "06" "00" "02" "E834",
    "0011000B916407281553F80000AA0AE8329BFD4697D9EC37",
    "00" "44" + KENYA + "0000" + TS + "11" "0800030A0201250101" "20B9996FD26B",
    "00" "04" "07D0" "49B7F90D" "0000" + TS + "02" "E834",
]


@given(st.sampled_from(VALID), st.data())
def test_fuzz_mutated_valid_pdus(hex_text, data):
    raw = bytearray(bytes.fromhex(hex_text))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    _decode_or_codec_error(bytes(raw[:cut]), True)
