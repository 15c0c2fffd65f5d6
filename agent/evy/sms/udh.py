"""The TP-User-Data-Header (TS 23.040 §9.2.3.24): concatenation IEs 0x00 (8-bit reference) and 0x08 (16-bit),
and the national language shift IEs 0x24 (locking) and 0x25 (single) that change how GSM-7 text reads.

Other information elements (ports, text formatting...) are skipped, as the spec allows; a concatenation IE
with impossible values is ignored, also as the spec says.
"""

from __future__ import annotations

from dataclasses import dataclass

from evy.sms.errors import CodecError
from evy.sms.message import Concat

IE_CONCAT_8 = 0x00
IE_CONCAT_16 = 0x08
IE_LOCKING_SHIFT = 0x24
IE_SINGLE_SHIFT = 0x25


@dataclass(frozen=True)
class UserDataHeader:
    concat: Concat | None = None
    locking_shift: int = 0  # national language identifier; 0 is the default alphabet
    single_shift: int = 0


def encode(concat: Concat | None) -> bytes:
    """The whole header including its length octet (UDHL); empty when there is nothing to say."""
    if concat is None:
        return b""
    if not 1 <= concat.total <= 255 or not 1 <= concat.seq <= concat.total:
        raise CodecError(f"concatenation part {concat.seq} of {concat.total} is impossible (1-255 parts)")
    if concat.ref_bits == 8:
        if not 0 <= concat.ref <= 0xFF:
            raise CodecError(f"8-bit concatenation reference {concat.ref} is out of range 0-255")
        return bytes((5, IE_CONCAT_8, 3, concat.ref, concat.total, concat.seq))
    if concat.ref_bits == 16:
        if not 0 <= concat.ref <= 0xFFFF:
            raise CodecError(f"16-bit concatenation reference {concat.ref} is out of range 0-65535")
        return bytes((6, IE_CONCAT_16, 4, concat.ref >> 8, concat.ref & 0xFF, concat.total, concat.seq))
    raise CodecError(f"concatenation reference must be 8 or 16 bits, got {concat.ref_bits}")


def decode(header: bytes) -> Concat | None:
    """The concatenation info in a header (without its UDHL octet), if any."""
    return parse(header).concat


def parse(header: bytes) -> UserDataHeader:
    """The information elements EVY acts on, from a header without its UDHL octet."""
    pos = 0
    concat: Concat | None = None
    shifts = {IE_LOCKING_SHIFT: 0, IE_SINGLE_SHIFT: 0}
    while pos < len(header):
        if pos + 2 > len(header):
            raise CodecError(f"user data header truncated: information element at octet {pos} has no length")
        iei, length = header[pos], header[pos + 1]
        value = header[pos + 2:pos + 2 + length]
        if len(value) < length:
            raise CodecError(f"user data header truncated: IE 0x{iei:02X} needs {length} octets, "
                             f"{len(value)} left")
        pos += 2 + length
        if iei in shifts and length == 1:
            shifts[iei] = value[0]
        elif concat is not None:
            continue
        elif iei == IE_CONCAT_8 and length == 3:
            concat = _valid(Concat(ref=value[0], total=value[1], seq=value[2], ref_bits=8))
        elif iei == IE_CONCAT_16 and length == 4:
            concat = _valid(Concat(ref=value[0] << 8 | value[1], total=value[2], seq=value[3], ref_bits=16))
    return UserDataHeader(concat, shifts[IE_LOCKING_SHIFT], shifts[IE_SINGLE_SHIFT])


def _valid(concat: Concat) -> Concat | None:
    return concat if 1 <= concat.seq <= concat.total else None
