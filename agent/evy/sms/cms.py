"""What a modem's ``+CMS ERROR`` / ``+CME ERROR`` means and what to do about it (3GPP TS 27.005 §3.2.5,
TS 27.007 §9.2, TS 24.011 RP causes), so a field technician reads an action rather than a number."""

from __future__ import annotations

import re
from dataclasses import dataclass

from evy.sms.errors import CmsError


@dataclass(frozen=True)
class Cause:
    text: str
    action: str
    transient: bool  # True: the same command may succeed later unchanged
    category: str  # "network" | "storage" | "sim" | "pin" | "pdu" | "modem" | "recipient"


_RETRY = "the outbox retries later"
_NET = Cause("", f"check antenna, signal and credit; {_RETRY}", True, "network")
_BAD_RECIPIENT = "check the recipient number; the message is not retried"

CMS: dict[int, Cause] = {
    1: Cause("unassigned (unallocated) number", _BAD_RECIPIENT, False, "recipient"),
    8: Cause("operator determined barring", "ask the operator to enable SMS on this SIM", False, "network"),
    10: Cause("call barred", "ask the operator to lift SMS barring on this SIM", False, "network"),
    21: Cause("short message transfer rejected", _RETRY, True, "network"),
    27: Cause("destination out of service", _RETRY, True, "recipient"),
    28: Cause("unidentified subscriber", _BAD_RECIPIENT, False, "recipient"),
    29: Cause("facility rejected", "ask the operator whether SMS is enabled for this SIM", False, "network"),
    30: Cause("unknown subscriber", _BAD_RECIPIENT, False, "recipient"),
    38: Cause("network out of order", _NET.action, True, "network"),
    41: Cause("temporary network failure", _RETRY, True, "network"),
    42: Cause("network congestion", _RETRY, True, "network"),
    47: Cause("network resources unavailable", _RETRY, True, "network"),
    50: Cause("SMS not subscribed", "ask the operator to enable SMS on this SIM", False, "network"),
    69: Cause("requested facility not implemented", "ask the operator to enable SMS on this SIM", False,
              "network"),
    96: Cause("invalid mandatory information", "the PDU is malformed; report a bug", False, "pdu"),
    111: Cause("protocol error", _RETRY, True, "network"),
    127: Cause("interworking error", _RETRY, True, "network"),
    175: Cause("invalid TPDU", "the PDU is malformed; report a bug", False, "pdu"),
    192: Cause("SMS centre busy", _RETRY, True, "network"),
    193: Cause("no SMS centre subscription", "set modem.smsc or ask the operator", False, "network"),
    194: Cause("SMS centre failure", _RETRY, True, "network"),
    195: Cause("invalid destination address", _BAD_RECIPIENT, False, "recipient"),
    196: Cause("destination barred", _BAD_RECIPIENT, False, "recipient"),
    208: Cause("SIM SMS storage full", "delete handled messages from the SIM", True, "storage"),
    210: Cause("error in the modem", "the modem is reset if it keeps failing", True, "modem"),
    211: Cause("memory capacity exceeded", "delete handled messages from the SIM", True, "storage"),
    255: Cause("unspecified TP error", _RETRY, True, "network"),
    300: Cause("modem failure", "the modem is reset if it keeps failing", True, "modem"),
    301: Cause("SMS service of the modem reserved", _RETRY, True, "modem"),
    302: Cause("operation not allowed", "the modem refused the command in its current state", False, "modem"),
    303: Cause("operation not supported", "choose another modem.profile or check the modem firmware", False,
               "modem"),
    304: Cause("invalid PDU mode parameter", "the PDU or its length is wrong; report a bug", False, "pdu"),
    305: Cause("invalid text mode parameter", "the modem is not in PDU mode; it is re-initialised", True,
               "modem"),
    310: Cause("SIM not inserted", "insert the SIM card and power-cycle the kit", False, "sim"),
    311: Cause("SIM PIN required", "set modem.pin to the SIM's PIN", False, "pin"),
    312: Cause("PH-SIM PIN required", "the modem is locked to another SIM; unlock it in a phone", False,
               "pin"),
    313: Cause("SIM failure", "reseat or replace the SIM card", False, "sim"),
    314: Cause("SIM busy", "the SIM is still starting; retried shortly", True, "sim"),
    315: Cause("SIM wrong", "this SIM is rejected by the modem; use another SIM", False, "sim"),
    316: Cause("SIM PUK required", "the SIM is PUK-locked: unlock it with its PUK in a phone", False, "pin"),
    317: Cause("SIM PIN2 required", "unlock PIN2 in a phone", False, "pin"),
    318: Cause("SIM PUK2 required", "unlock PUK2 in a phone", False, "pin"),
    320: Cause("memory failure", "reseat or replace the SIM card", True, "storage"),
    321: Cause("invalid memory index", "the storage slot does not exist; the message list is re-read", False,
               "storage"),
    322: Cause("memory full", "SIM storage is full: handled messages are deleted, check the backlog", True,
               "storage"),
    330: Cause("SMS centre address unknown", "set modem.smsc to the operator's SMS centre number", False,
               "network"),
    331: Cause("no network service", "wait for network registration (check antenna and SIM); " + _RETRY, True,
               "network"),
    332: Cause("network timeout", _RETRY, True, "network"),
    340: Cause("no +CNMA acknowledgement expected", "use CNMI without +CMT acknowledgements", False, "modem"),
    500: Cause("unknown error", "often the SIM is not yet provisioned for SMS or the network refused; "
               + _RETRY, True, "modem"),
}

CME: dict[int, Cause] = {
    0: Cause("phone failure", "the modem is reset if it keeps failing", True, "modem"),
    3: Cause("operation not allowed", "the modem refused the command in its current state", False, "modem"),
    4: Cause("operation not supported", "choose another modem.profile or check the modem firmware", False,
             "modem"),
    5: Cause("PH-SIM PIN required", "the modem is locked to another SIM; unlock it in a phone", False, "pin"),
    10: Cause("SIM not inserted", "insert the SIM card and power-cycle the kit", False, "sim"),
    11: Cause("SIM PIN required", "set modem.pin to the SIM's PIN", False, "pin"),
    12: Cause("SIM PUK required", "the SIM is PUK-locked: unlock it with its PUK in a phone", False, "pin"),
    13: Cause("SIM failure", "reseat or replace the SIM card", False, "sim"),
    14: Cause("SIM busy", "the SIM is still starting; retried shortly", True, "sim"),
    15: Cause("SIM wrong", "this SIM is rejected by the modem; use another SIM", False, "sim"),
    16: Cause("incorrect password", "modem.pin is wrong; fix it (it is never retried, to avoid a PUK lock)",
              False, "pin"),
    17: Cause("SIM PIN2 required", "unlock PIN2 in a phone", False, "pin"),
    18: Cause("SIM PUK2 required", "unlock PUK2 in a phone", False, "pin"),
    20: Cause("memory full", "SIM storage is full: handled messages are deleted, check the backlog", True,
              "storage"),
    21: Cause("invalid index", "the storage slot does not exist; the message list is re-read", False,
              "storage"),
    22: Cause("not found", "the entry does not exist", False, "storage"),
    23: Cause("memory failure", "reseat or replace the SIM card", True, "storage"),
    30: Cause("no network service", "wait for network registration (check antenna and SIM); " + _RETRY, True,
              "network"),
    31: Cause("network timeout", _RETRY, True, "network"),
    32: Cause("network not allowed, emergency calls only", "check the SIM's subscription and roaming", True,
              "network"),
    100: Cause("unknown error", _RETRY, True, "modem"),
}

BARE_ERROR = Cause("the modem answered ERROR", "enable numeric errors (AT+CMEE=1) to learn why; " + _RETRY,
                   True, "modem")

# With AT+CMEE=2 modems answer with text; map the usual texts back to their numbers.
_VERBOSE = {cause.text.lower(): code for code, cause in CME.items()} | {
    "incorrect password": 16, "sim pin required": 11, "sim puk required": 12, "sim busy": 14,
    "sim not inserted": 10, "unknown": 100, "invalid index": 21, "memory full": 20,
}

_FINAL = re.compile(r"^\+(CMS|CME) ERROR:\s*(.*)$")


def describe(kind: str, code: int | None) -> Cause:
    """The cause of a ``kind`` ("cms"/"cme"/"error") error code, with a generic entry for unknown numbers."""
    if kind == "error" or code is None:
        return BARE_ERROR
    table = CMS if kind == "cms" else CME
    if code in table:
        return table[code]
    if kind == "cms" and code < 128:
        return Cause(f"network refused the message (RP cause {code})", _RETRY, True, "network")
    if kind == "cms" and code < 256:
        return Cause(f"SMS centre refused the message (TP cause {code})", _RETRY, True, "network")
    return Cause(f"unlisted error code {code}", _RETRY, True, "modem")


def parse_error_line(line: str) -> tuple[str, int | None] | None:
    """``"+CMS ERROR: 322"`` → ("cms", 322); ``"ERROR"`` → ("error", None); anything else → None."""
    if line == "ERROR":
        return "error", None
    match = _FINAL.match(line)
    if not match:
        return None
    kind, value = match.group(1).lower(), match.group(2).strip().strip('"')
    if value.isdigit():
        return kind, int(value)
    return kind, _VERBOSE.get(value.lower())


def error_for(kind: str, code: int | None, command: str) -> CmsError:
    """The exception to raise for a final error result of ``command``."""
    cause = describe(kind, code)
    return CmsError(kind, code, cause.text, cause.action, cause.transient, command, cause.category)


def reference_markdown() -> str:
    """The error reference table of docs/modem.md, generated from the tables above."""
    rows = ["| error | cause | what happens / what to do | transient |", "| --- | --- | --- | --- |"]
    for kind, table in (("CMS", CMS), ("CME", CME)):
        for code, cause in table.items():
            rows.append(f"| `+{kind} ERROR: {code}` | {cause.text} | {cause.action} | "
                        f"{'yes' if cause.transient else 'no'} |")
    rows.append(f"| `ERROR` | {BARE_ERROR.text} | {BARE_ERROR.action} | yes |")
    return "\n".join(rows) + "\n"
