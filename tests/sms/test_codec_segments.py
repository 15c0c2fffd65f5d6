"""Segment counting and splitting: 160/70 single, 153/67 per concatenated part, cuts between characters."""

import itertools
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evy.sms import gsm7, segments, ucs2
from evy.sms.errors import CodecError
from evy.sms.message import Encoding

GSM7_CHARS = [char for code, char in enumerate(gsm7.BASIC_TABLE) if code != gsm7.ESCAPE] \
    + list(gsm7.EXTENSION_TABLE.values())
# Weighted towards the interesting characters: escapes, astral-plane emoji, plain letters.
mixed_chars = st.one_of(st.sampled_from(GSM7_CHARS), st.sampled_from("€[]{}~|^\\"),
                        st.sampled_from("😀🙂🇰🇪ж中ا’\t"), st.characters(exclude_categories=["Cs"]))
texts = st.text(alphabet=mixed_chars, max_size=700)
gsm7_texts = st.text(alphabet=st.sampled_from(GSM7_CHARS + list("€€€[]")), max_size=700)


@pytest.mark.parametrize(("text", "encoding", "parts"), [
    ("", Encoding.GSM7, 1),
    ("a" * 160, Encoding.GSM7, 1),
    ("a" * 161, Encoding.GSM7, 2),
    ("a" * 306, Encoding.GSM7, 2),
    ("a" * 307, Encoding.GSM7, 3),
    ("€" * 80, Encoding.GSM7, 1),
    ("€" * 81, Encoding.GSM7, 2),
    ("€" * 160, Encoding.GSM7, 3),  # 76 + 76 + 8: an escape pair never straddles a cut
    ("ж" * 70, Encoding.UCS2, 1),
    ("ж" * 71, Encoding.UCS2, 2),
    ("😀" * 35, Encoding.UCS2, 1),
    ("😀" * 36, Encoding.UCS2, 2),
    ("hello\tworld", Encoding.UCS2, 1),  # a tab forces UCS-2
    ("it’s", Encoding.UCS2, 1),
])
def test_count(text, encoding, parts):
    assert segments.count(text) == (encoding, parts)
    assert len(segments.split(text)) == parts


def test_extension_char_at_position_153_moves_to_the_next_part():
    text = "a" * 152 + "€" + "b" * 10
    first, second = segments.split(text)
    assert first == "a" * 152 and second == "€" + "b" * 10


def test_emoji_across_the_67_unit_boundary_stays_whole():
    text = "ж" * 66 + "😀" + "ж" * 10
    first, second = segments.split(text)
    assert first == "ж" * 66 and second.startswith("😀")


def test_budgets():
    assert segments.budget(Encoding.GSM7, multipart=False) == 160
    assert segments.budget(Encoding.GSM7, multipart=True) == 153
    assert segments.budget(Encoding.GSM7, multipart=True, ref_bits=16) == 152
    assert segments.budget(Encoding.UCS2, multipart=False) == 70
    assert segments.budget(Encoding.UCS2, multipart=True) == 67
    assert segments.budget(Encoding.UCS2, multipart=True, ref_bits=16) == 66
    assert segments.budget(Encoding.BIT8, multipart=False) == 140
    assert segments.budget(Encoding.BIT8, multipart=True) == 134


def test_forcing_gsm7_on_other_text_is_an_error_not_a_substitution():
    with pytest.raises(CodecError, match="not GSM-7"):
        segments.split("zażółć", Encoding.GSM7)
    with pytest.raises(CodecError, match="8-bit"):
        segments.split("ж", Encoding.BIT8)


def test_a_lone_surrogate_cannot_be_sent():
    with pytest.raises(CodecError, match="unpaired surrogate U\\+D83D at index 2"):
        segments.split("ab\ud83d", Encoding.UCS2)
    with pytest.raises(CodecError, match="unpaired surrogate"):
        segments.count("x" * 100 + "\udc00")


def test_more_than_255_parts_is_refused_but_counted():
    text = "a" * (153 * 255 + 1)
    assert segments.count(text) == (Encoding.GSM7, 256)
    with pytest.raises(CodecError, match="256 parts"):
        segments.split(text)


def _units(text: str, encoding: Encoding) -> int:
    return gsm7.septet_count(text) if encoding is Encoding.GSM7 else ucs2.unit_count(text)


@given(texts, st.sampled_from([8, 16]))
def test_parts_rejoin_fit_their_budget_and_are_greedy(text, ref_bits):
    encoding = segments.choose_encoding(text)
    parts = segments.split(text, ref_bits=ref_bits)
    assert "".join(parts) == text
    if len(parts) == 1:
        assert _units(text, encoding) <= (160 if encoding is Encoding.GSM7 else 70)
        return
    limit = segments.budget(encoding, multipart=True, ref_bits=ref_bits)
    for index, part in enumerate(parts):
        assert 0 < _units(part, encoding) <= limit
        if index + 1 < len(parts):  # a cut only where the next letter (with its combining marks) would not fit
            following = parts[index + 1]
            letter = following[:1] + "".join(itertools.takewhile(unicodedata.combining, following[1:]))
            assert _units(part + letter, encoding) > limit


@given(gsm7_texts)
def test_gsm7_parts_never_split_an_escape_sequence(text):
    parts = segments.split(text, Encoding.GSM7)
    encoded = [gsm7.encode(part) for part in parts]
    # Each part encodes on its own to exactly its slice of the whole: no escape pair was cut.
    assert [septet for part in encoded for septet in part] == gsm7.encode(text)


@given(texts)
def test_ucs2_parts_never_split_a_surrogate_pair(text):
    parts = segments.split(text, Encoding.UCS2)
    joined = b"".join(ucs2.encode(part) for part in parts)
    assert joined == ucs2.encode(text)
    for part in parts:
        raw = ucs2.encode(part)
        if raw:
            assert not 0xD800 <= int.from_bytes(raw[-2:], "big") <= 0xDBFF  # no dangling high surrogate
            assert not 0xDC00 <= int.from_bytes(raw[:2], "big") <= 0xDFFF  # no orphan low surrogate


@given(texts)
def test_choose_encoding_is_gsm7_exactly_when_every_character_fits(text):
    assert (segments.choose_encoding(text) is Encoding.GSM7) == gsm7.is_gsm7(text)
