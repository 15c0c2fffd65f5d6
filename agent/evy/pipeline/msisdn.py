"""Subscriber numbers (MSISDNs) in one comparable form: the full international digits, without '+'.

A number in national form ("0711 000111") is completed with the kit's country calling code after its trunk
prefix is dropped; the whole number is compared, never a suffix, so two subscribers in different countries
whose last digits agree stay two people.
"""

from __future__ import annotations

import re

# ITU-T E.164 country calling codes of the countries the kit has a verified emergency number for
# (protocols/data/emergency_numbers.toml).
CALLING_CODES = {
    "AE": "971", "AR": "54", "AT": "43", "AU": "61", "BD": "880", "BE": "32", "BG": "359", "BR": "55",
    "CA": "1", "CH": "41", "CL": "56", "CN": "86", "CO": "57", "CR": "506", "CY": "357", "CZ": "420",
    "DE": "49", "DK": "45", "DO": "1", "EC": "593", "EE": "372", "EG": "20", "ES": "34", "FI": "358",
    "FR": "33", "GB": "44", "GE": "995", "GH": "233", "GR": "30", "HK": "852", "HN": "504", "HR": "385",
    "HU": "36", "ID": "62", "IE": "353", "IL": "972", "IN": "91", "IR": "98", "IS": "354", "IT": "39",
    "JO": "962", "JP": "81", "KE": "254", "KR": "82", "LB": "961", "LI": "423", "LK": "94", "LT": "370",
    "LU": "352", "LV": "371", "MA": "212", "MD": "373", "MT": "356", "MX": "52", "MY": "60", "NG": "234",
    "NL": "31", "NO": "47", "NP": "977", "NZ": "64", "PA": "507", "PE": "51", "PH": "63", "PL": "48",
    "PR": "1", "PT": "351", "RO": "40", "RS": "381", "RU": "7", "RW": "250", "SA": "966", "SE": "46",
    "SG": "65", "SI": "386", "SK": "421", "SV": "503", "TH": "66", "TN": "216", "TR": "90", "TW": "886",
    "TZ": "255", "UA": "380", "UG": "256", "US": "1", "UY": "598", "VN": "84", "ZA": "27",
}
# Trunk prefixes dialled before a national number, where they are not the common "0". Italy has none and
# its national numbers may begin with 0, which must stay.
TRUNK_PREFIXES = {"IT": (), "US": ("1",), "CA": ("1",), "DO": ("1",), "PR": ("1",), "RU": ("8",),
                  "HU": ("06",), "LT": ("8", "0")}
INTERNATIONAL_PREFIXES = ("+", "00")

_SEPARATORS = re.compile(r"[\s().-]")
_DIGITS = re.compile(r"[0-9]+")


def calling_code_of(international_digits: str) -> str | None:
    """The calling code an international number begins with (E.164 codes are prefix-free), if known."""
    codes = set(CALLING_CODES.values())
    return next((international_digits[:n] for n in (1, 2, 3) if international_digits[:n] in codes), None)


def normalise(number: str, calling_code: str | None, country: str | None = None) -> str | None:
    """Full international digits, or None when the number is not a phone number or a national number
    cannot be completed (no calling code known)."""
    text = _SEPARATORS.sub("", number)
    for prefix in INTERNATIONAL_PREFIXES:
        if text.startswith(prefix):
            digits = text[len(prefix):]
            return digits if _DIGITS.fullmatch(digits) else None
    if not _DIGITS.fullmatch(text) or calling_code is None:
        return None
    for trunk in TRUNK_PREFIXES.get(country or "", ("0",)):
        if text.startswith(trunk):
            text = text[len(trunk):]
            break
    return calling_code + text


def home_calling_code(country: str | None, own_number: str | None) -> str | None:
    """The kit's calling code: its country's, else the one its own number begins with."""
    if country is not None and country in CALLING_CODES:
        return CALLING_CODES[country]
    own = normalise(own_number, None) if own_number else None
    return calling_code_of(own) if own else None


def same_subscriber(a: str, b: str, calling_code: str | None, country: str | None = None) -> bool:
    """True when both are the same whole number; unknown forms compare by their exact digits."""
    na, nb = normalise(a, calling_code, country), normalise(b, calling_code, country)
    if na is None or nb is None:
        return bool(re.sub(r"\D", "", a)) and re.sub(r"\D", "", a) == re.sub(r"\D", "", b)
    return na == nb
