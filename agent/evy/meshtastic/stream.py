"""The node's serial stream framing (the Meshtastic stream API): 0x94 0xC3, a 16-bit big-endian length, then a
protobuf (``ToRadio`` to the node, ``FromRadio`` from it); bytes outside a frame are the node's debug log."""

from __future__ import annotations

START = b"\x94\xc3"
HEADER_LEN = 4
MAX_FRAME = 512  # the firmware's MAX_TO_FROM_RADIO_SIZE: a longer length is not a header


def frame(message: bytes) -> bytes:
    """One protobuf framed for the serial stream."""
    if len(message) > MAX_FRAME:
        raise ValueError(f"a stream frame holds at most {MAX_FRAME} bytes, got {len(message)}")
    return START + len(message).to_bytes(2, "big") + message


class FrameReader:
    """Splits a byte stream into frames; bytes between frames (debug log, wake-up bytes) are skipped."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        frames = []
        while True:
            start = self._buffer.find(START)
            if start < 0:
                del self._buffer[:-1 if self._buffer.endswith(START[:1]) else len(self._buffer)]
                return frames
            del self._buffer[:start]
            if len(self._buffer) < HEADER_LEN:
                return frames
            length = int.from_bytes(self._buffer[2:4], "big")
            if length > MAX_FRAME:  # not a real header: resynchronise after this start marker
                del self._buffer[:1]
                continue
            if len(self._buffer) < HEADER_LEN + length:
                return frames
            frames.append(bytes(self._buffer[HEADER_LEN:HEADER_LEN + length]))
            del self._buffer[:HEADER_LEN + length]
