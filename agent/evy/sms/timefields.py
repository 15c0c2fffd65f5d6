"""Time fields of a PDU: TP-SCTS / TP-DT timestamps (TS 23.040 §9.2.3.11) and relative TP-VP (§9.2.3.12.1).

A timestamp is seven swapped-BCD octets YY MM DD hh mm ss TZ; TZ counts quarter-hours from UTC and its bit 3
is the sign. A modem with an unset clock sends impossible dates: those read as None instead of failing the
message they came with.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from evy.sms.errors import CodecError

TIMESTAMP_OCTETS = 7
EMPTY_TIMESTAMP = bytes(TIMESTAMP_OCTETS)  # what a missing timestamp encodes to (and decodes back from)
MAX_QUARTER_HOURS = 79


def decode_timestamp(raw: bytes) -> datetime | None:
    if len(raw) != TIMESTAMP_OCTETS:
        raise CodecError(f"timestamp must be {TIMESTAMP_OCTETS} octets, got {len(raw)}")
    fields = []
    for octet in raw[:6]:
        low, high = octet & 0x0F, octet >> 4
        if low > 9 or high > 9:
            return None
        fields.append(low * 10 + high)
    tz_octet = raw[6]
    tens, units = tz_octet & 0x07, tz_octet >> 4
    if units > 9:
        return None
    quarters = tens * 10 + units
    offset = timedelta(minutes=15 * (-quarters if tz_octet & 0x08 else quarters))
    year, month, day, hour, minute, second = fields
    try:
        return datetime(year + (2000 if year < 90 else 1900), month, day, hour, minute, second,
                        tzinfo=timezone(offset))
    except ValueError:
        return None


def encode_timestamp(moment: datetime | None) -> bytes:
    """Seven octets; a naive ``moment`` counts as UTC; None gives the all-zero (undated) timestamp."""
    if moment is None:
        return EMPTY_TIMESTAMP
    offset = moment.utcoffset()
    if offset is None:
        moment, offset = moment.replace(tzinfo=UTC), timedelta(0)
    if not 1990 <= moment.year <= 2089:
        raise CodecError(f"timestamp year {moment.year} cannot be sent (1990-2089)")
    minutes, rest = divmod(int(offset.total_seconds()), 60)
    quarters, odd_minutes = divmod(abs(minutes), 15)
    if rest or odd_minutes or quarters > MAX_QUARTER_HOURS:
        raise CodecError(f"timezone offset {offset} is not a whole number of quarter-hours within ±19:45")
    values = (moment.year % 100, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    octets = [value % 10 << 4 | value // 10 for value in values]
    octets.append(quarters % 10 << 4 | quarters // 10 | (0x08 if minutes < 0 else 0))
    return bytes(octets)


def decode_relative_validity(octet: int) -> timedelta:
    if octet <= 143:
        return timedelta(minutes=5 * (octet + 1))
    if octet <= 167:
        return timedelta(hours=12, minutes=30 * (octet - 143))
    if octet <= 196:
        return timedelta(days=octet - 166)
    return timedelta(weeks=octet - 192)


def encode_relative_validity(period: timedelta) -> int:
    """The smallest TP-VP value whose period is at least ``period`` (5 minutes to 63 weeks)."""
    if period <= timedelta(0):
        raise CodecError(f"validity period must be positive, got {period}")
    if period > timedelta(weeks=63):
        raise CodecError(f"validity period {period} is longer than the 63 weeks an SMS can ask for")
    low, high = 0, 255
    while low < high:
        middle = (low + high) // 2
        if decode_relative_validity(middle) >= period:
            high = middle
        else:
            low = middle + 1
    return low
