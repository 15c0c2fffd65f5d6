"""Property tests: every DELIVER, SUBMIT and STATUS-REPORT the codec writes, it reads back unchanged."""

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from evy.sms import gsm7, pdu, segments, timefields
from evy.sms.message import Concat, Deliver, Encoding, StatusReport

GSM7_CHARS = [char for code, char in enumerate(gsm7.BASIC_TABLE) if code != gsm7.ESCAPE] \
    + list(gsm7.EXTENSION_TABLE.values())
any_chars = st.one_of(st.sampled_from(GSM7_CHARS), st.sampled_from("😀🇰🇪жا中’\t"),
                      st.characters(exclude_categories=["Cs"]))

international = st.from_regex(r"\+[1-9][0-9]{5,14}", fullmatch=True)
national = st.from_regex(r"[0-9*#]{1,20}", fullmatch=True)
alphanumeric = st.text(alphabet=st.sampled_from(GSM7_CHARS), min_size=1, max_size=11).filter(
    lambda name: gsm7.septet_count(name) <= 11 and not any(c.isdigit() or c in "+*#" for c in name))
numbers = st.one_of(international, national)
smscs = st.one_of(st.none(), international)

quarter_hours = st.integers(-79, 79).map(lambda q: timezone(timedelta(minutes=15 * q)))
timestamps = st.one_of(st.none(), st.builds(
    lambda moment, tz: moment.replace(tzinfo=tz),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2089, 12, 31)).map(
        lambda moment: moment.replace(microsecond=0)),
    quarter_hours))


@st.composite
def concats(draw):
    ref_bits = draw(st.sampled_from([8, 16]))
    total = draw(st.integers(1, 255))
    return Concat(ref=draw(st.integers(0, (1 << ref_bits) - 1)), total=total, seq=draw(st.integers(1, total)),
                  ref_bits=ref_bits)


@st.composite
def delivers(draw):
    encoding = draw(st.sampled_from(Encoding))
    concat = draw(st.one_of(st.none(), concats()))
    header = 0 if concat is None else segments.udh_length(concat.ref_bits)
    data = b""
    if encoding is Encoding.GSM7:
        chars = st.sampled_from(GSM7_CHARS)
        text = draw(st.text(alphabet=chars, max_size=160).filter(
            lambda t: gsm7.septet_count(t) + (header * 8 + 6) // 7 <= 160))
    elif encoding is Encoding.UCS2:
        text = draw(st.text(alphabet=any_chars, max_size=70).filter(
            lambda t: len(t.encode("utf-16-be")) + header <= 140))
    else:
        data = draw(st.binary(max_size=140 - header))
        text = data.decode("latin-1")
    return Deliver(sender=draw(st.one_of(numbers, alphanumeric)), text=text, encoding=encoding,
                   timestamp=draw(timestamps), smsc=draw(smscs), concat=concat, data=data,
                   status_report_indication=draw(st.booleans()),
                   protocol_id=draw(st.sampled_from([0x00, 0x40, 0x41, 0x7F])))


@given(delivers())
def test_deliver_round_trip(message):
    assert pdu.decode(pdu.encode_deliver(message)) == message


@given(st.builds(StatusReport, recipient=numbers, reference=st.integers(0, 255), status=st.integers(0, 255),
                 timestamp=timestamps, discharge_time=timestamps, smsc=smscs,
                 text=st.text(alphabet=st.sampled_from(GSM7_CHARS), max_size=100),
                 encoding=st.just(Encoding.GSM7)))
def test_status_report_round_trip(report):
    assert pdu.decode(pdu.encode_status_report(report)) == report


@given(numbers, st.text(alphabet=any_chars, max_size=500), smscs, st.integers(0, 255), st.booleans(),
       st.sampled_from([8, 16]), st.data())
def test_submit_round_trip(recipient, text, smsc, reference, report, ref_bits, data):
    concat_ref = data.draw(st.integers(0, (1 << ref_bits) - 1))
    periods = st.integers(0, 255).map(timefields.decode_relative_validity)
    validity = data.draw(st.one_of(st.none(), periods))
    parts = pdu.encode_submit(recipient, text, smsc=smsc, reference=reference, request_status_report=report,
                              concat_ref=concat_ref, ref_bits=ref_bits, validity=validity)
    decoded = [pdu.decode(part.hex) for part in parts]
    assert decoded == [part.message for part in parts]
    # read back from the outbox (hex and length only), a part gives the same fields
    assert [pdu.SubmitPart(part.hex, part.tpdu_length).message for part in parts] == decoded
    assert "".join(message.text for message in decoded) == text
    assert all(message.encoding is segments.choose_encoding(text) for message in decoded)
    assert all(message.recipient == recipient and message.smsc == smsc for message in decoded)
    assert all(message.validity == validity for message in decoded)
    if len(parts) > 1:
        assert [m.concat for m in decoded] == [Concat(concat_ref, len(parts), seq, ref_bits)
                                               for seq in range(1, len(parts) + 1)]
    for part in parts:
        assert part.tpdu_length == pdu.tpdu_length(part.hex) <= 164
        assert part.hex == part.hex.upper()


@given(st.text(alphabet=any_chars, max_size=400))
def test_forced_ucs2_carries_any_text(text):
    parts = pdu.encode_submit("+254712345678", text, encoding=Encoding.UCS2)
    assert "".join(pdu.decode(part.hex).text for part in parts) == text
