"""The modem's byte stream as lines: split on CR/LF, drop blank lines and line noise, spot the ``>`` prompt,
and recognise unsolicited result codes (URCs) wherever they turn up.

Pure functions and one small buffer class, so the parser is tested without a port.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PRINTABLE = bytes(range(0x20, 0x7F))
_DELETE_NON_PRINTABLE = bytes(set(range(256)) - set(_PRINTABLE))


class LineReader:
    """Accumulates bytes and hands out complete lines.

    Partial reads stay buffered until their line ends. Bytes outside printable ASCII are dropped: modems emit
    0x00/0xFF at power-up and serial noise on a loose jumper, and every AT line (PDUs included, as hex) is
    printable ASCII, so nothing real is lost.
    """

    def __init__(self) -> None:
        self._partial = bytearray()
        self._prompt_seen = False  # a ">" that a URC's line end turned into a line of its own
        self.noise_bytes = 0  # how many bytes were dropped, for the logs

    def feed(self, data: bytes) -> list[str]:
        lines: list[str] = []
        for byte in data:
            if byte in (0x0D, 0x0A):
                if self._partial:
                    line = self._partial.decode("ascii").strip()
                    self._partial.clear()
                    if line == ">":
                        self._prompt_seen = True
                    else:
                        lines.append(line)
            elif 0x20 <= byte < 0x7F:
                self._partial.append(byte)
            else:
                self.noise_bytes += 1
        return [line for line in lines if line]

    @property
    def prompt(self) -> bool:
        """True when the unterminated tail is the ``>`` prompt of AT+CMGS (no line end follows it)."""
        return self._prompt_seen or self._partial.strip() == b">"

    def take_prompt(self) -> bool:
        if self._prompt_seen:
            self._prompt_seen = False
            return True
        if self._partial.strip() == b">":
            self._partial.clear()
            return True
        return False

    def clear(self) -> None:
        self._partial.clear()
        self._prompt_seen = False


# --- unsolicited result codes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Urc:
    """One unsolicited result code. ``pdu`` is set for the two-line ones (+CMT, +CDS) once read."""

    name: str  # "CMTI", "CDSI", "CMT", "CDS", "RDY", "READY", "POWER", "CREG", "CPIN", "OTHER"
    line: str
    storage: str | None = None
    index: int | None = None
    pdu: str | None = None

    @property
    def needs_pdu(self) -> bool:
        return self.name in ("CMT", "CDS") and self.pdu is None


_INDICATION = re.compile(r'^\+(CMTI|CDSI):\s*"?([A-Z]{2})"?\s*,\s*(\d+)\s*$')
_TWO_LINE = re.compile(r"^\+(CMT|CDS):\s*(.*)$")
# Lines a modem prints by itself when it (re)boots or loses power; seeing one means our settings are gone.
_RESTART = ("RDY", "START", "+CFUN: 1", "+CFUN: 0", "+CFUN: 4")
_READY = ("Call Ready", "SMS Ready", "SMS DONE", "PB DONE", "+CPIN: READY")
_POWER = ("NORMAL POWER DOWN", "UNDER-VOLTAGE POWER DOWN", "UNDER-VOLTAGE WARNNING", "UNDER-VOLTAGE WARNING",
          "OVER-VOLTAGE POWER DOWN", "OVER-VOLTAGE WARNNING", "OVER-VOLTAGE WARNING")
_OTHER_PREFIXES = ("+CIEV:", "*PSUTTZ", "DST:", "+CTZV:", "+PSNWID:", "+CUSD:", "RING", "+CLIP:",
                   "+CRING:", "+CGEV:", "+APP PDP:", "+SMS FULL", "+CMS ERROR:")


def parse_urc(line: str, expected_prefix: str | None = None) -> Urc | None:
    """The URC ``line`` is, or None when it is not one (a response line of the running command).

    ``expected_prefix`` is the info prefix of the command in flight ("+CREG:"): lines with it belong to the
    command even though the same words can also arrive unsolicited.
    """
    if expected_prefix and line.startswith(expected_prefix):
        return None
    if match := _INDICATION.match(line):
        return Urc(match.group(1), line, storage=match.group(2), index=int(match.group(3)))
    if _TWO_LINE.match(line):
        return Urc(line[1:4].rstrip(":"), line)
    if line in _RESTART:
        return Urc("RDY", line)
    if line in _READY:
        return Urc("READY", line)
    if line in _POWER:
        return Urc("POWER", line)
    if line.startswith(("+CREG:", "+CGREG:", "+CEREG:")):
        return Urc("CREG", line)
    if line.startswith("+CPIN:"):
        return Urc("CPIN", line)
    # A +CMS ERROR with no command in flight is a modem complaining on its own: log it, never a result.
    if line.startswith(_OTHER_PREFIXES):
        return Urc("OTHER", line)
    return None


# --- final result codes ---------------------------------------------------------------------------------

_FINAL_ERRORS = ("ERROR", "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE")


def is_final(line: str) -> bool:
    return line == "OK" or line in _FINAL_ERRORS or line.startswith(("+CMS ERROR:", "+CME ERROR:"))


HEX = re.compile(r"^[0-9A-Fa-f]+$")


def is_hex(line: str) -> bool:
    return bool(HEX.match(line)) and len(line) % 2 == 0


def split_fields(text: str) -> list[str]:
    """``'1,0,"",23'`` → ['1', '0', '', '23'] (commas inside quotes kept, quotes removed)."""
    fields, current, quoted = [], [], False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            fields.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    fields.append("".join(current).strip())
    return fields


def info_fields(line: str, prefix: str) -> list[str]:
    """Fields of an info line ``+CSQ: 17,0`` after its prefix."""
    return split_fields(line[len(prefix):].strip()) if line.startswith(prefix) else []


def parse_ranges(text: str) -> list[set[int]]:
    """``(0-3),(0-3),(0,2),(0,1),(0,1)`` → one set of allowed values per parameter (for AT+CNMI=?)."""
    groups = re.findall(r"\(([^)]*)\)", text)
    result = []
    for group in groups:
        allowed: set[int] = set()
        for item in group.split(","):
            item = item.strip()
            if "-" in item:
                low, _, high = item.partition("-")
                if low.strip().isdigit() and high.strip().isdigit():
                    allowed.update(range(int(low), int(high) + 1))
            elif item.isdigit():
                allowed.add(int(item))
        result.append(allowed)
    return result


def parse_storage_lists(text: str) -> list[list[str]]:
    """``("SM","ME"),("SM","ME"),("SM")`` → [["SM","ME"], ["SM","ME"], ["SM"]] (for AT+CPMS=?)."""
    return [re.findall(r'"([^"]*)"', group) for group in re.findall(r"\(([^)]*)\)", text)]
