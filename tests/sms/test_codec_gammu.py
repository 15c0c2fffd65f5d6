"""Cross-check against an independent implementation: python-gammu (libGammu's PDU and multipart code).

Gammu's known bugs, and how these tests step around them (each was seen with python-gammu 3.5):
- `EncodeSMS(Unicode=False)` silently replaces characters GSM-7 lacks ("ż"→"z", emoji→"?"): Gammu is only
  asked for GSM-7 when the text is GSM-7, and the tests prove EVY refuses instead of substituting.
- `DecodePDU` leaves one junk character at the end of `Text` per GSM-7 extension character (it uses the
  septet count as the character count): the junk is cut off before comparing.
- `SMSCounter` undercounts texts full of extension characters (160×"€" → 2 parts, really 3) and its
  "characters left" ignores the UDH: only part counts of texts without extension characters are compared.
- `DecodePDU` reads every two-digit year as 20YY: timestamps are drawn from 2000-2079.
- In UCS-2 Gammu swaps '~' and U+0001 both ways (its internal escape): `EncodeSMS` sends "~ж" as
  0001 0436 and `DecodePDU` reads "~ж" as "~~" (and "a~ж~b" as "a~~ж~"). UCS-2 texts with '~' or U+0001
  are not compared (EVY's bytes are plain UTF-16-BE, pinned by the vector tests).
- `DecodePDU` cuts an alphanumeric sender at '@' (septet 0x00 read as a terminator): no '@' in senders.
- `EncodePDU` rewrites a leading "00" as an international '+': national numbers start 0[1-9].
- Gammu's text is a C string: U+0000 ends it. Texts given to Gammu have no U+0000.
"""

import os
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from evy.sms import gsm7, pdu, segments
from evy.sms.message import Concat, Deliver, Encoding, StatusReport

gammu = pytest.importorskip("gammu")

GSM7_CHARS = [char for code, char in enumerate(gsm7.BASIC_TABLE) if code != gsm7.ESCAPE] \
    + list(gsm7.EXTENSION_TABLE.values())
EXTENSION = set(gsm7.EXTENSION_TABLE.values())
BASIC_ONLY = [char for char in GSM7_CHARS if char not in EXTENSION]
# GSM-7 text, text with extension characters, and text that needs UCS-2 (Cyrillic, Arabic, CJK, emoji).
any_chars = st.one_of(st.sampled_from(GSM7_CHARS), st.sampled_from("€[]{}~|^\\"),
                      st.sampled_from("жПриветسلام中文😀🙂🇰🇪’\t"), st.characters(exclude_categories=["Cs"]))
texts = st.text(alphabet=any_chars, max_size=500).filter(lambda text: "\x00" not in text)
gsm7_texts = st.text(alphabet=st.sampled_from(GSM7_CHARS), max_size=500)
numbers = st.one_of(st.from_regex(r"\+[1-9][0-9]{5,14}", fullmatch=True),
                    st.from_regex(r"0[1-9][0-9]{4,11}", fullmatch=True))
GAMMU_CODING = {Encoding.GSM7: "Default_No_Compression", Encoding.UCS2: "Unicode_No_Compression",
                Encoding.BIT8: "8bit"}
# EVY_CROSS_EXAMPLES=5000 for a deep run; 150 keeps the default suite fast.
CROSS = settings(max_examples=int(os.environ.get("EVY_CROSS_EXAMPLES", "150")), deadline=None)


def gammu_parts(text: str, encoding: Encoding, ref_bits: int = 8) -> list[dict]:
    entry = "ConcatenatedTextLong16bit" if ref_bits == 16 else "ConcatenatedTextLong"
    return gammu.EncodeSMS({"Class": -1, "Unicode": encoding is Encoding.UCS2,
                            "Entries": [{"ID": entry, "Buffer": text}]})


def gammu_text(decoded: dict, ours: str) -> str | None:
    """Gammu's decoded text without the junk it appends once per extension character; None where its
    UCS-2 '~' bug makes it useless."""
    text = decoded["Text"]
    if decoded["Coding"] == GAMMU_CODING[Encoding.UCS2] and _tilde_bug(ours):
        return None
    junk = sum(char in EXTENSION for char in ours)
    if decoded["Coding"] == GAMMU_CODING[Encoding.GSM7] and junk:
        return text[:-junk]
    return text


def _tilde_bug(text: str) -> bool:
    return "~" in text or "\x01" in text


@CROSS
@given(texts, st.sampled_from([8, 16]))
def test_split_matches_gammu(text, ref_bits):
    encoding = segments.choose_encoding(text)
    ours = segments.split(text, encoding, ref_bits=ref_bits)
    theirs = gammu_parts(text, encoding, ref_bits)
    assert [part["Text"] for part in theirs] == ours


@CROSS
@given(st.text(alphabet=st.one_of(st.sampled_from(BASIC_ONLY), st.sampled_from("жا😀"),
                                  st.characters(exclude_categories=["Cs"])), max_size=500)
       .filter(lambda text: not EXTENSION & set(text) and "\x00" not in text))
def test_part_count_matches_gammu_sms_counter(text):
    encoding, parts = segments.count(text)
    theirs, _left = gammu.SMSCounter(text, Coding="Default" if encoding is Encoding.GSM7 else
                                      "Unicode_No_Compression")
    assert parts == theirs


def test_gammu_sms_counter_undercounts_extension_characters():
    """Why the comparison above leaves extension characters out (see the module docstring)."""
    assert segments.count("€" * 160) == (Encoding.GSM7, 3)
    assert len(gammu_parts("€" * 160, Encoding.GSM7)) == 3
    assert gammu.SMSCounter("€" * 160)[0] < 3


@pytest.mark.parametrize("text", ["zażółć", "emoji 😀", "tab\there", "it’s", "Привет"])
def test_evy_never_substitutes_where_gammu_would(text):
    with pytest.raises(pdu.CodecError, match="not GSM-7"):
        pdu.encode_submit("+254712345678", text, encoding=Encoding.GSM7)
    assert segments.choose_encoding(text) is Encoding.UCS2
    part, = pdu.encode_submit("+254712345678", text)
    assert gammu.DecodePDU(bytes.fromhex(part.hex), SMSC=True)["Text"] == text


@CROSS
@given(numbers, texts, st.one_of(st.none(), numbers), st.sampled_from([8, 16]), st.integers(0, 255))
def test_gammu_decodes_our_submits(recipient, text, smsc, ref_bits, concat_ref):
    parts = pdu.encode_submit(recipient, text, smsc=smsc, ref_bits=ref_bits, concat_ref=concat_ref)
    for part in parts:
        theirs = gammu.DecodePDU(bytes.fromhex(part.hex), SMSC=True)
        ours = part.message
        assert theirs["Type"] == "Submit"
        assert theirs["Number"] == recipient
        assert theirs["SMSC"]["Number"] == (smsc or "")
        assert theirs["Coding"] == GAMMU_CODING[ours.encoding]
        assert gammu_text(theirs, ours.text) in (ours.text, None)
        _assert_same_concat(theirs["UDH"], ours.concat)


@CROSS
@given(st.one_of(numbers, st.sampled_from(["Info", "M-PESA", "Safaricom", "Bank&Home"])),
       st.text(alphabet=any_chars, max_size=60).filter(lambda text: "\x00" not in text), st.sampled_from(Encoding),
       st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2079, 12, 31)),
       st.integers(-48, 56), st.one_of(st.none(), st.builds(Concat, ref=st.integers(0, 255),
                                                            total=st.just(3), seq=st.integers(1, 3))))
def test_gammu_decodes_our_delivers(sender, text, encoding, moment, quarters, concat):
    if encoding is Encoding.GSM7 and not gsm7.is_gsm7(text):
        encoding = Encoding.UCS2
    # One DELIVER is one SMS: 60 characters outside the BMP are 120 UTF-16 units, more than 70 fit.
    assume(encoding is not Encoding.UCS2 or len(text.encode("utf-16-be")) + (6 if concat else 0) <= 140)
    data = text.encode("utf-8")[:100] if encoding is Encoding.BIT8 else b""
    if data:
        text = data.decode("latin-1")
    timestamp = moment.replace(microsecond=0, tzinfo=timezone(timedelta(minutes=15 * quarters)))
    message = Deliver(sender=sender, text=text, encoding=encoding, timestamp=timestamp, smsc="+254722000000",
                      concat=concat, data=data)
    theirs = gammu.DecodePDU(bytes.fromhex(pdu.encode_deliver(message)), SMSC=True)
    assert theirs["Type"] == "Deliver"
    assert theirs["Number"] == sender
    assert theirs["SMSC"]["Number"] == "+254722000000"
    assert theirs["DateTime"] == timestamp
    assert theirs["Coding"] == GAMMU_CODING[encoding]
    if encoding is Encoding.BIT8:
        assert theirs["Text"] == data
    else:
        assert gammu_text(theirs, text) in (text, None)
    _assert_same_concat(theirs["UDH"], concat)


@pytest.mark.parametrize("status", [0x00, 0x01, 0x20, 0x30, 0x41, 0x64])
def test_gammu_decodes_our_status_reports(status):
    sent = datetime(2026, 11, 26, 11, 0, tzinfo=timezone(timedelta(hours=3)))
    report = StatusReport(recipient="+254712345678", reference=200, status=status, timestamp=sent,
                          discharge_time=sent + timedelta(seconds=42), smsc="+254722000000")
    theirs = gammu.DecodePDU(bytes.fromhex(pdu.encode_status_report(report)), SMSC=True)
    assert theirs["Type"] == "Status_Report"
    assert (theirs["Number"], theirs["MessageReference"], theirs["DeliveryStatus"]) == \
        ("+254712345678", 200, status)
    assert (theirs["DateTime"], theirs["SMSCDateTime"]) == (sent, sent + timedelta(seconds=42))


@CROSS
@given(texts, numbers, st.sampled_from(["Submit", "Deliver"]), st.sampled_from([8, 16]))
def test_we_decode_gammus_pdus(text, number, layout, ref_bits):
    encoding = segments.choose_encoding(text)
    assume(encoding is Encoding.GSM7 or not _tilde_bug(text))
    decoded = []
    for part in gammu_parts(text, encoding, ref_bits):
        part |= {"Number": number, "SMSC": {"Number": "+254722000000"}, "Type": layout,
                 "DateTime": datetime(2026, 5, 4, 3, 2, 1)}
        message = pdu.decode(gammu.EncodePDU(part, layout).hex())
        assert type(message) is (Deliver if layout == "Deliver" else pdu.Submit)
        assert (getattr(message, "sender", None) or message.recipient) == number
        assert message.smsc == "+254722000000"
        assert message.encoding is encoding
        if layout == "Deliver":
            assert message.timestamp == datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)
        _assert_same_concat(part["UDH"], message.concat)
        decoded.append(message)
    assert "".join(message.text for message in decoded) == text


def _assert_same_concat(udh: dict, concat: Concat | None) -> None:
    if concat is None:
        assert udh["Type"] == "NoUDH"
        return
    ref = udh["ID16bit"] if concat.ref_bits == 16 else udh["ID8bit"]
    assert (ref, udh["AllParts"], udh["PartNumber"]) == (concat.ref, concat.total, concat.seq)


def test_a_combining_mark_stays_with_its_letter_as_gammu_keeps_it():
    """Found by the cross-check: a part must not start with a bare accent (U+0300 after the 67th unit)."""
    text = "0" * 67 + "\u0300" + "000"
    ours = segments.split(text, Encoding.UCS2)
    assert ours == ["0" * 66, "0\u0300000"]
    assert [part["Text"] for part in gammu_parts(text, Encoding.UCS2, 8)] == ours
