"""Phone-number fields (TS 23.040 §9.1.2.5): TP-OA / TP-DA / TP-RA and the SMSC address in front of a PDU.

Type of number 1 (international) reads as a leading '+'; type 5 (alphanumeric) is GSM-7 packed text such as
a bank's sender name; every other type reads as its plain digits.
"""

from __future__ import annotations

import re

from evy.sms import gsm7
from evy.sms.errors import CodecError
from evy.sms.octets import Reader

TON_INTERNATIONAL = 1
TON_ALPHANUMERIC = 5
TOA_INTERNATIONAL = 0x91  # international number, ISDN numbering plan
TOA_UNKNOWN = 0x81  # unknown type (national numbers, short codes), ISDN numbering plan
TOA_ALPHANUMERIC = 0xD0
MAX_DIGITS = 20
MAX_ALPHANUMERIC_SEPTETS = 11  # 20 semi-octets hold 80 bits: 11 septets

_DIGITS = "0123456789*#abc"  # semi-octet values 0x0-0xE; 0xF is the filler
_SEPARATORS = re.compile(r"[\s\-().]")
_NUMBER = re.compile(r"\+?[0-9*#]+")


def encode(number: str, *, field: str = "address", alphanumeric: bool = True) -> bytes:
    """A TP-OA/DA/RA field: length in semi-octets, type of address, value."""
    plain = _SEPARATORS.sub("", number)
    if _NUMBER.fullmatch(plain):
        international = plain.startswith("+")
        digits = plain.lstrip("+")
        _check_digits(digits, field)
        toa = TOA_INTERNATIONAL if international else TOA_UNKNOWN
        return bytes((len(digits), toa)) + _bcd(digits)
    if not alphanumeric:
        raise CodecError(f"{field} {number!r} is not a phone number")
    if not number:
        raise CodecError(f"{field} is empty")
    septets = gsm7.encode(number) if gsm7.is_gsm7(number) else None
    if septets is None:
        raise CodecError(f"{field} {number!r} has characters an alphanumeric address cannot carry")
    if len(septets) > MAX_ALPHANUMERIC_SEPTETS:
        raise CodecError(f"{field} {number!r} is too long: {len(septets)} septets, "
                         f"an alphanumeric address holds {MAX_ALPHANUMERIC_SEPTETS}")
    semi_octets = (len(septets) * 7 + 3) // 4
    return bytes((semi_octets, TOA_ALPHANUMERIC)) + gsm7.pack(septets)


def read(reader: Reader, field: str = "address") -> str:
    semi_octets = reader.octet(f"{field} length")
    toa = reader.octet(f"{field} type")
    value = reader.take((semi_octets + 1) // 2, field)
    if (toa >> 4) & 0x07 == TON_ALPHANUMERIC:
        return gsm7.decode(gsm7.unpack(value, semi_octets * 4 // 7))
    return _with_type(toa, _digits(value, semi_octets))


def encode_smsc(number: str | None) -> bytes:
    """The SMSC prefix of a PDU: a lone 00 ('use the SIM's SMSC') when ``number`` is None or empty."""
    if not number:
        return b"\x00"
    plain = _SEPARATORS.sub("", number)
    if not _NUMBER.fullmatch(plain):
        raise CodecError(f"SMSC {number!r} is not a phone number")
    digits = plain.lstrip("+")
    _check_digits(digits, "SMSC")
    value = _bcd(digits)
    toa = TOA_INTERNATIONAL if plain.startswith("+") else TOA_UNKNOWN
    return bytes((len(value) + 1, toa)) + value


def read_smsc(reader: Reader) -> str | None:
    length = reader.octet("SMSC length")
    if length == 0:
        return None
    if length > 12:
        raise CodecError(f"SMSC length {length} octets is impossible (at most 12): "
                         "does this PDU lack the SMSC prefix?")
    toa = reader.octet("SMSC type")
    value = reader.take(length - 1, "SMSC address")
    digits = _digits(value, 2 * len(value))
    return _with_type(toa, digits) if digits else None


def _with_type(toa: int, digits: str) -> str:
    return "+" + digits if (toa >> 4) & 0x07 == TON_INTERNATIONAL else digits


def _check_digits(digits: str, field: str) -> None:
    if not digits:
        raise CodecError(f"{field} has no digits")
    if len(digits) > MAX_DIGITS:
        raise CodecError(f"{field} has {len(digits)} digits, at most {MAX_DIGITS}")


def _bcd(digits: str) -> bytes:
    nibbles = [_DIGITS.index(digit) for digit in digits]
    if len(nibbles) % 2:
        nibbles.append(0xF)
    return bytes(low | high << 4 for low, high in zip(nibbles[::2], nibbles[1::2], strict=True))


def _digits(value: bytes, semi_octets: int) -> str:
    chars: list[str] = []
    for index in range(semi_octets):
        octet = value[index // 2]
        nibble = octet >> 4 if index % 2 else octet & 0x0F
        if nibble != 0xF:
            chars.append(_DIGITS[nibble])
    return "".join(chars)
