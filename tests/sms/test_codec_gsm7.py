"""GSM 03.38 default alphabet and septet packing (3GPP TS 23.038 §6.1.2.1, §6.2.1)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evy.sms import gsm7, national
from evy.sms.errors import CodecError, SmsError

GSM7_CHARS = [char for code, char in enumerate(gsm7.BASIC_TABLE) if code != gsm7.ESCAPE] \
    + list(gsm7.EXTENSION_TABLE.values())
gsm7_text = st.text(alphabet=st.sampled_from(GSM7_CHARS))


@pytest.mark.parametrize(("code", "char"), [
    (0x00, "@"), (0x01, "£"), (0x02, "$"), (0x0A, "\n"), (0x0D, "\r"), (0x10, "Δ"), (0x11, "_"),
    (0x24, "¤"), (0x40, "¡"), (0x5B, "Ä"), (0x5F, "§"), (0x60, "¿"), (0x7F, "à"), (0x1F, "É"),
])
def test_basic_table_matches_the_spec(code, char):
    assert gsm7.encode(char) == [code]
    assert gsm7.decode([code]) == char


@pytest.mark.parametrize(("code", "char"), [
    (0x0A, "\f"), (0x14, "^"), (0x28, "{"), (0x29, "}"), (0x2F, "\\"), (0x3C, "["), (0x3D, "~"),
    (0x3E, "]"), (0x40, "|"), (0x65, "€"),
])
def test_extension_table_takes_an_escape_and_two_septets(code, char):
    assert gsm7.encode(char) == [0x1B, code]
    assert gsm7.septet_count(char) == 2
    assert gsm7.decode([0x1B, code]) == char


def test_the_classic_hellohello_packing():
    septets = gsm7.encode("hellohello")
    assert gsm7.pack(septets).hex().upper() == "E8329BFD4697D9EC37"
    assert gsm7.decode(gsm7.unpack(bytes.fromhex("E8329BFD4697D9EC37"), 10)) == "hellohello"


def test_eight_septets_fill_seven_octets_exactly():
    assert gsm7.pack(gsm7.encode("12345678")).hex().upper() == "31D98C56B3DD70"


def test_fill_bits_shift_the_first_septet():
    # After a 6-octet UDH one fill bit aligns the text to a septet boundary.
    assert gsm7.pack(gsm7.encode("hi"), fill_bits=1) == bytes((0xD0, 0x69))
    assert gsm7.unpack(bytes((0xD0, 0x69)), 2, fill_bits=1) == gsm7.encode("hi")


def test_non_gsm7_text_is_refused_with_the_characters_named():
    with pytest.raises(CodecError, match=r"not GSM-7: 'ż' \(U\+017C\)"):
        gsm7.encode("zażółć")
    assert gsm7.non_gsm7_chars("zażółć ż 😀\t") == ["ż", "ó", "ł", "ć", "😀", "\t"]
    assert not gsm7.is_gsm7("tab\there")
    assert not gsm7.is_gsm7("’")
    assert gsm7.is_gsm7("Ünïcode?") is False
    assert gsm7.is_gsm7("Über ÅÆØ é ñ ¿¡ €[]")


def test_codec_error_is_an_sms_error_and_a_value_error():
    with pytest.raises(CodecError) as caught:
        gsm7.septet_count("🙂")
    assert isinstance(caught.value, SmsError) and isinstance(caught.value, ValueError)


def test_unknown_extension_code_reads_as_the_basic_character():
    assert gsm7.decode([0x1B, 0x41]) == "A"  # TS 23.038: display the basic-table character
    assert gsm7.decode([0x41, 0x1B]) == "A "  # dangling escape
    assert gsm7.decode([0x1B, 0x1B, 0x42]) == " B"  # escape to a not-yet-defined table


def test_short_data_is_a_one_line_error():
    with pytest.raises(CodecError, match="GSM-7 data truncated: 10 septets need 9 octets, 3 left"):
        gsm7.unpack(b"\x00\x00\x00", 10)


@pytest.mark.parametrize("bad", [-1, 7])
def test_fill_bits_out_of_range(bad):
    with pytest.raises(CodecError):
        gsm7.pack([1], fill_bits=bad)
    with pytest.raises(CodecError):
        gsm7.unpack(b"\x00\x00", 1, fill_bits=bad)


def test_septet_out_of_range():
    with pytest.raises(CodecError, match="128"):
        gsm7.pack([128])
    with pytest.raises(CodecError, match="128"):
        gsm7.decode([128])


@given(gsm7_text)
def test_text_round_trips(text):
    septets = gsm7.encode(text)
    assert gsm7.decode(septets) == text
    assert len(septets) == gsm7.septet_count(text)
    assert gsm7.is_gsm7(text) and gsm7.non_gsm7_chars(text) == []


@given(st.lists(st.integers(0, 127), max_size=200), st.integers(0, 6))
def test_pack_unpack_round_trip(septets, fill_bits):
    packed = gsm7.pack(septets, fill_bits)
    assert len(packed) == (fill_bits + 7 * len(septets) + 7) // 8
    assert packed[0] & ((1 << fill_bits) - 1) == 0 if packed else True
    assert gsm7.unpack(packed, len(septets), fill_bits) == septets


@given(st.text())
def test_non_gsm7_chars_are_exactly_what_blocks_encoding(text):
    missing = gsm7.non_gsm7_chars(text)
    assert gsm7.is_gsm7(text) == (not missing)
    if missing:
        with pytest.raises(CodecError):
            gsm7.encode(text)
    else:
        assert gsm7.decode(gsm7.encode(text)) == text


@pytest.mark.parametrize("nli", sorted(national.LOCKING_TABLES))
def test_locking_shift_tables_are_complete_alphabets(nli):
    table = national.LOCKING_TABLES[nli]
    assert len(set(table)) == 128  # 127 distinct characters and the escape
    assert gsm7.decode([code for code in range(128) if code != 0x1B], locking=nli) == table.replace("\x1b", "")


def test_shift_tables_decode():
    assert gsm7.decode([0x07, 0x1D, 0x07, 0x6B], locking=national.TURKISH) == "ışık"
    assert gsm7.decode([0x1B, 0x7F, 0x1B, 0x65], single=national.PORTUGUESE) == "â€"
    assert gsm7.decode([0x1B, 0x41, 0x1B, 0x28], single=national.SPANISH) == "Á{"
    # Locking and single shift together; an escape the single table lacks reads from the locking table.
    assert gsm7.decode([0x1B, 0x73, 0x1B, 0x07, 0x00], locking=national.TURKISH, single=national.TURKISH) == "şı@"
    assert gsm7.decode([0x1B, 0x73], single=6) == "s"  # Hindi single shift: not here, default rules
