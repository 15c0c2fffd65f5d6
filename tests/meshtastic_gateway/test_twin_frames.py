"""Property tests of the serial stream framing (0x94 0xC3, 16-bit big-endian length, protobuf), checked
against the official library's own reader: what the twin frames, the library's stream interface parses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("meshtastic")

from evy.meshtastic.stream import MAX_FRAME, FrameReader, frame

payloads = st.binary(min_size=0, max_size=MAX_FRAME)
noise = st.binary(max_size=40).map(lambda b: b.replace(b"\x94", b"."))  # debug log text between frames


@given(st.lists(st.tuples(noise, payloads), max_size=8), st.lists(st.integers(1, 64), min_size=1))
def test_frames_come_back_whole_however_the_bytes_are_chunked(items, chunk_sizes):
    stream = b"".join(log + frame(payload) for log, payload in items)
    reader, got, position, index = FrameReader(), [], 0, 0
    while position < len(stream):
        size = chunk_sizes[index % len(chunk_sizes)]
        got += reader.feed(stream[position:position + size])
        position, index = position + size, index + 1
    assert got == [payload for _, payload in items]


def test_a_frame_over_the_limit_is_refused_with_its_size():
    with pytest.raises(ValueError, match="513"):
        frame(b"x" * 513)


@given(payloads)
def test_the_header_is_the_librarys(payload):
    from meshtastic.stream_interface import HEADER_LEN, START1, START2

    framed = frame(payload)
    assert framed[0] == START1 and framed[1] == START2
    assert int.from_bytes(framed[2:HEADER_LEN], "big") == len(payload)
