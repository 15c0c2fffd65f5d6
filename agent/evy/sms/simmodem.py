"""A SIM800-like modem on a real pseudo-terminal, for tests, benchmarks and `evy sim`.

The agent opens ``SimModem.port`` (the pty's slave) with pyserial exactly as it opens ``/dev/ttyS0``; a
thread answers AT commands in PDU mode on the master side (the pty plumbing is ``simpty.PtyDevice``).
The simulated network is scriptable (incoming messages, delivery reports, registration) and faults can be
injected (error results, silence, line noise, slow or chopped answers, a full SIM, reboots, SIM PIN/PUK, lost
URCs, a storage slot wiped under the modem, the whole modem unplugged and plugged back).

At the ``>`` prompt of AT+CMGS/AT+CMGW it behaves as the SIM800 and SIM7000 manuals describe: everything
until Ctrl-Z (send/store) or ESC (abandon) is taken as PDU text, so a client that died at the prompt leaves a
modem that swallows every later command. The manuals give no prompt timeout (their 60 s "max response time"
counts from Ctrl-Z), and field reports show modems waiting there until power-cycled: ``prompt_timeout`` is
None by default; set it to model a modem that gives up (it then answers ERROR).

Thread safety: public methods take one lock shared with the thread.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from evy.sms import pdu as pdu_codec
from evy.sms import simnet
from evy.sms.errors import CodecError
from evy.sms.message import Deliver, Encoding, Submit
from evy.sms.simnet import SentMessage
from evy.sms.simpty import PtyDevice

log = logging.getLogger("evy.sms.simmodem")

CME_TEXT = {3: "operation not allowed", 4: "operation not supported", 10: "SIM not inserted",
            11: "SIM PIN required", 12: "SIM PUK required", 14: "SIM busy", 16: "incorrect password",
            30: "no network service", 100: "unknown"}
MODELS = {
    "sim800": {"ident": "SIM800 R14.18", "cnmi_ranges": "(0-3),(0-3),(0,2),(0,1),(0,1)",
               "lte": False, "ready": ("Call Ready", "SMS Ready")},
    "sim7000": {"ident": "SIM7000G R1529", "cnmi_ranges": "(0-3),(0-3),(0-3),(0-2),(0,1)", "lte": True,
                "ready": ("SMS DONE", "PB DONE")},
}
_COMMAND = re.compile(r"^AT(?:([&+*#][A-Z]+|[A-Z&])(\d*))?(.*)$", re.IGNORECASE)


@dataclass
class _Rule:
    command: str  # "CMGS", "CPIN", "AT", ...
    kind: str  # "cms" | "cme" | "error"
    code: int | None
    remaining: int


@dataclass
class _Slot:
    stat: int
    pdu: str


@dataclass
class _Volatile:
    """Modem settings a reboot forgets."""

    echo: bool = True
    cmee: int = 0
    cmgf: int = 1
    cnmi: tuple[int, ...] = (0, 0, 0, 0, 0)
    sim_state: str = "READY"
    storage: str = "SM"  # <mem1> of AT+CPMS: read, list, delete
    write_storage: str = "SM"  # <mem2>: AT+CMGW / AT+CMSS
    receive_storage: str = "SM"  # <mem3>: where the network's messages and reports are stored
    cfun: int = 1
    reg_mode: dict[str, int] = field(default_factory=dict)  # AT+CREG=<n> etc.


@dataclass
class _Pending:
    """An AT+CMGS (send) or AT+CMGW (write to storage) waiting for its PDU."""

    length: int
    data: bytearray = field(default_factory=bytearray)
    write: bool = False  # AT+CMGW: store as STO UNSENT instead of sending


class SimModem(PtyDevice):
    def __init__(self, storage_size: int = 20, echo: bool = True, pin: str | None = None, *,
                 model: str = "sim800", registered: bool = True, smsc: str | None = simnet.DEFAULT_SMSC,
                 operator: str = "Safaricom", signal: int = 18, boot_time: float = 0.05,
                 first_reference: int = 0, puk_locked: bool = False, sim_inserted: bool = True,
                 phone_storage_size: int = 50, link: str | None = None):
        if model not in MODELS:
            raise ValueError(f"unknown simulated model {model!r} (choose {', '.join(MODELS)})")
        super().__init__(link)
        self.model = model
        self.storage_size = storage_size
        self.factory_echo = echo
        self.pin = pin
        self.puk_locked = puk_locked
        self.sim_inserted = sim_inserted
        self.registered = registered
        self.smsc = smsc
        self.operator = operator
        self.signal = signal
        self.boot_time = boot_time
        self.next_reference = first_reference & 0xFF
        # network behaviour
        self.report_status: int | None = 0x00  # TP-ST of delivery reports; None: the network sends none
        # Per part instead: a function of the SentMessage giving its TP-ST, or None for no report at all
        # (e.g. a report for only one part of a multipart reply).
        self.report_for: Callable[[SentMessage], int | None] | None = None
        self.report_delay = 0.01
        # Called (in the modem's thread, with its lock held) for every SUBMIT it hands to the network, before
        # the +CMGS/+CMSS answer goes out: a test's way to make something fail right after a send.
        self.on_sent: Callable[[SentMessage], None] | None = None
        # faults
        self.response_delay = 0.0
        self.prompt_timeout: float | None = None  # seconds at the > prompt before giving up; None: never
        self.noise_before_answers = 0  # >0: this many noise bytes precede every answer
        # observable state
        self.sent: list[SentMessage] = []
        self.commands: deque[str] = deque(maxlen=100_000)  # recent AT command lines, oldest dropped
        self.pin_attempts = 0
        self.pin_attempts_left = 3
        self.reboots = 0
        self.storage: dict[int, _Slot] = {}  # the SIM ("SM"); the phone memory ("ME") is separate
        self.memories: dict[str, dict[int, _Slot]] = {"SM": self.storage, "ME": {}}
        self.memory_sizes = {"SM": storage_size, "ME": phone_storage_size}
        self.network_queue: deque[str] = deque()  # DELIVER PDUs held back while the SIM is full
        self._state = _Volatile(echo=echo)
        self._rules: list[_Rule] = []
        self._silent_until: float | None = None  # float("inf"): until resume()
        self._slow: list[tuple[float, str | None]] = []  # (delay, only for this command or None)
        self._current = ""  # the command being answered
        self._lost_urcs = 0
        self._wiped_slots = 0
        self._reboot_on_send = False
        self._reboot_on_command: str | None = None
        self._hold_urcs = False
        self._held_after_prompt = False
        self._held: list[str] = []
        self._charset = "IRA"
        self._booting_until = 0.0
        self._sent_changed = threading.Condition(self._lock)
        self._inbuf = bytearray()
        self._cmgs: _Pending | None = None
        self._apply_sim_lock()

    # --- the network: incoming messages and reports

    def deliver(self, sender: str, text: str, *, timestamp: datetime | None = None,
                smsc: str | None = simnet.DEFAULT_SMSC, encoding: Encoding | None = None,
                concat_ref: int | None = None, ref_bits: int = 8, order: Sequence[int] | None = None,
                missing: Iterable[int] = (), duplicate: Iterable[int] = ()) -> list[Deliver]:
        """A phone sends ``text``: its parts arrive (in ``order``, without ``missing``, ``duplicate`` twice),
        each stored on the SIM with a +CMTI (or pushed with +CMT, or held by the network if the SIM is full).
        Returns the parts in arrival order."""
        parts = simnet.deliver_parts(sender, text, timestamp=timestamp, smsc=smsc, encoding=encoding,
                                     concat_ref=concat_ref, ref_bits=ref_bits, order=order, missing=missing,
                                     duplicate=duplicate)
        with self._lock:
            for _message, encoded in parts:
                self._network_deliver(encoded)
        return [message for message, _ in parts]

    def deliver_pdu(self, pdu: str) -> None:
        """Deliver a raw DELIVER PDU (with SMSC prefix), e.g. a malformed one recorded from a real modem."""
        with self._lock:
            self._network_deliver(pdu.upper())

    def store(self, pdu: str, stat: int = 0) -> int:
        """Put a PDU straight into SIM storage without any indication (a backlog from before start-up)."""
        with self._lock:
            index = self._free_slot()
            if index is None:
                raise RuntimeError("simulated SIM storage is full")
            self.storage[index] = _Slot(stat, pdu.upper())
            return index

    def wait_sent(self, count: int, timeout: float = 5.0) -> list[SentMessage]:
        """Block until at least ``count`` messages were sent; returns them all (TimeoutError otherwise)."""
        deadline = time.monotonic() + timeout
        with self._sent_changed:
            while len(self.sent) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"simulated modem: {len(self.sent)} of {count} messages sent in time")
                self._sent_changed.wait(remaining)
            return list(self.sent)

    # --- network and SIM state

    def set_registered(self, registered: bool, after: float = 0.0) -> None:
        """Registration changes now or ``after`` seconds (CREG 0,2 searching ↔ 0,1 home); once registered,
        the network delivers what it held."""
        with self._lock:
            if after > 0:
                self._timers.append((time.monotonic() + after, lambda: self._set_registered(registered)))
                self._wake()
            else:
                self._set_registered(registered)

    def _set_registered(self, registered: bool) -> None:
        self.registered = registered
        self._release_network_queue()

    # --- faults

    def fail_next(self, command: str, *, cms: int | None = None, cme: int | None = None,
                  count: int = 1) -> None:
        """The next ``count`` uses of ``command`` ("CMGS", "CPIN", "AT", ...) fail with this error (a plain
        ERROR when neither code is given; with AT+CMEE=0 every error is a plain ERROR, as on a modem)."""
        kind, code = ("cms", cms) if cms is not None else ("cme", cme) if cme is not None else ("error", None)
        with self._lock:
            self._rules.append(_Rule(command.upper().lstrip("+"), kind, code, count))

    def silence(self, seconds: float | None = None) -> None:
        """Stop answering (no echo, no results, no URCs) for ``seconds``, or until ``resume``."""
        with self._lock:
            self._silent_until = time.monotonic() + seconds if seconds is not None else float("inf")

    def resume(self) -> None:
        with self._lock:
            self._silent_until = None
        self._wake()

    def slow_next(self, seconds: float, count: int = 1, command: str | None = None) -> None:
        """The next ``count`` answers (to ``command`` only, e.g. "CMSS", if given) come ``seconds`` late; what
        the command does (a send) happens at once, only its answer is late."""
        name = command.upper().lstrip("+") if command else None
        with self._lock:
            self._slow.extend([(seconds, name)] * count)

    def lose_urcs(self, count: int = 1) -> None:
        """The next ``count`` unsolicited indications (+CMTI, +CDSI, +CMT, ...) never reach the port, as on a
        busy UART or during a brown-out; what they announce is still stored."""
        with self._lock:
            self._lost_urcs += count

    def wipe_slot_on_next_send(self, count: int = 1) -> None:
        """The next ``count`` AT+CMSS find their slot emptied under the modem (a SIM swapped or wiped), and
        answer CMS 321 "invalid memory index" as a modem does."""
        with self._lock:
            self._wiped_slots += count

    def inject_noise(self, data: bytes | None = None, size: int = 24) -> bytes:
        """Emit line noise now: ``data`` or random non-text bytes (what a loose jumper or power-up gives)."""
        noise = data if data is not None else _noise(size)
        with self._lock:
            self._emit_raw(noise)
        return noise

    def emit_urc(self, *lines: str) -> None:
        """Write unsolicited lines now (or inside the next answer after ``urcs_inside_next_answer``)."""
        with self._lock:
            self._urc(*lines)

    def reboot(self, after: float = 0.0) -> None:
        """Reboot now (or ``after`` s): settings are forgotten, the SIM locks again if it has a PIN, and the
        boot banner (RDY, +CFUN, +CPIN, then Call Ready/SMS Ready or SMS DONE/PB DONE) follows after ``boot_time``."""
        with self._lock:
            if after > 0:
                self._timers.append((time.monotonic() + after, self._reboot))
                self._wake()
            else:
                self._reboot()

    def reboot_on_next_send(self) -> None:
        """Reboot once the next AT+CMGS PDU is received, before it reaches the network (nothing is sent)."""
        with self._lock:
            self._reboot_on_send = True

    def reboot_on_next(self, command: str) -> None:
        """Reboot when ``command`` ("CNMI", "CMGR", ...) next arrives, before answering it."""
        with self._lock:
            self._reboot_on_command = command.upper().lstrip("+")

    def urcs_inside_next_answer(self, after_prompt: bool = False) -> None:
        """Hold the next URCs back and emit them inside the next answer (after its first line, or before its
        final result), as modems do when a message arrives while a command runs; with ``after_prompt``,
        right after the next ``>`` prompt of AT+CMGS/AT+CMGW instead."""
        with self._lock:
            self._hold_urcs = True
            self._held_after_prompt = after_prompt

    def set_sim_busy(self, commands: int) -> None:
        """The next ``commands`` SIM commands (CPIN, CMGL, CMGR, CMGD, CMGS, CPMS) answer CME 14 SIM busy."""
        with self._lock:
            for name in ("CPIN", "CMGL", "CMGR", "CMGD", "CMGS", "CPMS"):
                self._rules.append(_Rule(name, "cme", 14, commands))

    def plug(self) -> None:
        """Plugged back in after ``unplug``: the modem lost power meanwhile, so it boots (settings forgotten,
        storage kept)."""
        with self._lock:
            was_plugged = self.plugged
            super().plug()
            if not was_plugged:
                self._reboot()

    # --- observation

    @property
    def stored(self) -> dict[int, str]:
        with self._lock:
            return {index: slot.pdu for index, slot in sorted(self.storage.items())}

    @property
    def state(self) -> _Volatile:
        """A copy of the settings a reboot forgets (echo, CMEE, CMGF, CNMI, SIM state, storage, CFUN)."""
        with self._lock:
            return _Volatile(**vars(self._state))

    # --- hooks of the pty device

    def _receive_failed(self, data: bytes) -> None:
        self._inbuf.clear()
        self._cmgs = None
        self._answer([], "ERROR")

    def _wakeups(self, now: float) -> list[float]:
        moments = [self._booting_until] if self._booting_until > now else []
        if self._silent_until is not None and now < self._silent_until != float("inf"):
            moments.append(self._silent_until)
        return moments

    # --- output

    def _answer(self, lines: Sequence[str], final: str = "OK") -> None:
        delay = self.response_delay
        for position, (seconds, command) in enumerate(self._slow):
            if command in (None, self._current):
                delay += seconds
                del self._slow[position]
                break
        if self._held and not self._held_after_prompt:
            lines = [*lines[:1], *self._held, *lines[1:]]
            self._held, self._hold_urcs = [], False
        text = "".join(f"\r\n{line}\r\n" for line in lines) + (f"\r\n{final}\r\n" if final else "")
        if self.noise_before_answers:
            self._emit_raw(_noise(self.noise_before_answers), delay)
        self._emit_raw(text.encode("ascii"), delay)

    def _urc(self, *lines: str) -> None:
        if self._silent():
            return
        if self._lost_urcs > 0:
            self._lost_urcs -= 1
            log.info("simulated modem lost the URC %s", lines[0])
            return
        if self._hold_urcs:
            self._held.extend(lines)
            return
        self._emit_raw("".join(f"\r\n{line}\r\n" for line in lines).encode("ascii"))

    def _error(self, kind: str, code: int | None) -> None:
        if kind == "error" or code is None or self._state.cmee == 0:
            self._answer([], "ERROR")
        elif self._state.cmee == 2 and kind == "cme" and code in CME_TEXT:
            self._answer([], f"+CME ERROR: {CME_TEXT[code]}")
        else:
            self._answer([], f"+{kind.upper()} ERROR: {code}")

    def _silent(self) -> bool:
        now = time.monotonic()
        return (self._silent_until is not None and now < self._silent_until) or now < self._booting_until

    # --- input

    def _receive(self, data: bytes) -> None:
        if self._silent():
            return
        for byte in data:
            if self._cmgs is not None:
                self._receive_pdu_byte(byte)
                continue
            if byte in (0x0D, 0x0A):
                line = self._inbuf.decode("ascii", "replace").strip()
                self._inbuf.clear()
                if line:
                    if self._state.echo:
                        self._emit_raw(line.encode("ascii", "replace") + b"\r")
                    self._command(line)
            else:
                self._inbuf.append(byte)

    def _receive_pdu_byte(self, byte: int) -> None:
        pending = self._cmgs
        if byte == 0x1B:  # ESC: the send is abandoned
            self._cmgs = None
            self._answer([])
        elif byte == 0x1A:  # Ctrl-Z: the PDU is complete
            self._cmgs = None
            if self._state.echo:
                self._emit_raw(bytes(pending.data) + b"\r")
            hex_text = pending.data.decode("ascii", "replace").strip()
            if pending.write:
                self._write_stored(pending.length, hex_text)
            else:
                self._submit(pending.length, hex_text)
        elif byte not in (0x0D, 0x0A):
            pending.data.append(byte)

    # --- commands

    def _command(self, line: str) -> None:
        start = line.upper().find("AT")
        if start > 0:  # V.250: whatever precedes the AT prefix (an ESC, line noise) is ignored
            line = line[start:]
        self.commands.append(line)
        match = _COMMAND.match(line)
        if not match:
            if line[:2].upper() == "AT":
                self._answer([], "ERROR")  # an AT command this modem does not know
            return  # not an AT command at all: modems ignore it
        name = (match.group(1) or "").upper().lstrip("+")
        number, rest = match.group(2), match.group(3)
        if not name:
            name = "AT"
        self._current = name
        if name == self._reboot_on_command:
            self._reboot_on_command = None
            self._reboot()
            return
        if name != "CMGS" and self._take_rule(name):
            return
        handler = getattr(self, f"_at_{name.lower().replace('&', 'amp_')}", None)
        if handler is None:
            self._answer([], "ERROR")
            return
        handler(number + rest if name in ("E", "Z", "I") or name.startswith("&") else rest)

    def _take_rule(self, name: str) -> bool:
        for rule in self._rules:
            if rule.command == name and rule.remaining > 0:
                rule.remaining -= 1
                self._error(rule.kind, rule.code)
                self._rules = [r for r in self._rules if r.remaining > 0]
                return True
        return False

    def _sim_blocked(self) -> bool:
        """SMS commands need an unlocked SIM: answer the CMS error a modem gives and return True."""
        if not self.sim_inserted:
            self._error("cms", 310)
            return True
        if self._state.sim_state != "READY":
            self._error("cms", 316 if "PUK" in self._state.sim_state else 311)
            return True
        return False

    def _at_at(self, rest: str) -> None:
        self._answer([])

    def _at_e(self, rest: str) -> None:
        self._state.echo = rest.strip() not in ("0",)
        self._answer([])

    def _at_i(self, rest: str) -> None:
        self._answer([MODELS[self.model]["ident"]])

    def _at_z(self, rest: str) -> None:
        self._state.echo, self._state.cmee = self.factory_echo, 0
        self._answer([])

    def _at_cgmm(self, rest: str) -> None:
        self._answer([self.model.upper()])

    def _at_cgmi(self, rest: str) -> None:
        self._answer(["SIMCOM_Ltd"])

    def _at_cgmr(self, rest: str) -> None:
        self._answer([f"Revision:{MODELS[self.model]['ident'].split()[-1]}"])

    def _at_cgsn(self, rest: str) -> None:
        self._answer(["866262030000001"])

    def _at_cimi(self, rest: str) -> None:
        self._answer(["639020000000001"])

    def _at_cmee(self, rest: str) -> None:
        if rest.startswith("?"):
            self._answer([f"+CMEE: {self._state.cmee}"])
        elif (value := rest.lstrip("=")) in ("0", "1", "2"):
            self._state.cmee = int(value)
            self._answer([])
        else:
            self._answer([], "ERROR")

    def _at_cpin(self, rest: str) -> None:
        if not self.sim_inserted:
            self._error("cme", 10)
        elif rest.startswith("?"):
            self._answer([f"+CPIN: {self._state.sim_state}"])
        elif rest.startswith("="):
            code = rest[1:].split(",")[0].strip().strip('"')
            if self._state.sim_state != "SIM PIN":
                self._error("cme", 3)
                return
            self.pin_attempts += 1
            if code == self.pin:
                self.pin_attempts_left = 3
                self._state.sim_state = "READY"
                self._answer([])
                # The SMS side comes up a moment later, as on a SIM800.
                ready = ("+CPIN: READY", *MODELS[self.model]["ready"])
                self._timers.append((time.monotonic() + 0.2, lambda: self._urc(*ready)))
            else:
                self.pin_attempts_left -= 1
                if self.pin_attempts_left <= 0:
                    self.puk_locked = True
                    self._state.sim_state = "SIM PUK"
                self._error("cme", 16)
        else:
            self._answer([], "ERROR")

    def _at_cpinr(self, rest: str) -> None:
        if not self.sim_inserted:
            self._error("cme", 10)
        else:
            self._answer([f"+CPINR: SIM PIN,{self.pin_attempts_left},3", "+CPINR: SIM PUK,10,10"])

    def _at_cmgf(self, rest: str) -> None:
        if rest.startswith("?"):
            self._answer([f"+CMGF: {self._state.cmgf}"])
        elif rest.lstrip("=") in ("0", "1"):
            self._state.cmgf = int(rest.lstrip("="))
            self._answer([])
        else:
            self._answer([], "ERROR")

    def _at_cnmi(self, rest: str) -> None:
        if rest == "=?":
            self._answer([f"+CNMI: {MODELS[self.model]['cnmi_ranges']}"])
        elif rest.startswith("?"):
            self._answer(["+CNMI: " + ",".join(map(str, self._state.cnmi))])
        elif rest.startswith("="):
            from evy.sms.at_lines import parse_ranges

            ranges = parse_ranges(MODELS[self.model]["cnmi_ranges"])
            try:
                values = tuple(int(v) if v.strip() else 0 for v in rest[1:].split(","))
            except ValueError:
                self._error("cme", 4)
                return
            if any(i >= len(ranges) or v not in ranges[i] for i, v in enumerate(values)):
                self._error("cme", 4)  # SIM800L refuses 2,1,0,2 this way
                return
            self._state.cnmi = values + (0,) * (5 - len(values))
            self._answer([])
        else:
            self._answer([], "ERROR")

    def _at_cpms(self, rest: str) -> None:
        if rest == "=?":
            self._answer(['+CPMS: ("SM","ME","SM_P","ME_P","MT"),("SM","ME","SM_P","ME_P","MT"),'
                          '("SM","ME","SM_P","ME_P","MT")'])
            return
        if self._sim_blocked():
            return
        state = self._state
        if rest.startswith("?"):
            names = (state.storage, state.write_storage, state.receive_storage)
            self._answer(["+CPMS: " + ",".join(f'"{n}",{len(self.memories[n])},{self.memory_sizes[n]}'
                                               for n in names)])
        elif rest.startswith("="):
            asked = [n.strip().strip('"') for n in rest[1:].split(",") if n.strip()]
            aliases = {"SM": "SM", "SM_P": "SM", "MT": "SM", "ME": "ME", "ME_P": "ME"}
            if not asked or any(n not in aliases for n in asked):
                self._error("cms", 302)
                return
            names = [aliases[n] for n in asked]
            state.storage = names[0]
            state.write_storage = names[1] if len(names) > 1 else state.write_storage
            state.receive_storage = names[2] if len(names) > 2 else state.receive_storage
            names = (state.storage, state.write_storage, state.receive_storage)
            self._answer(["+CPMS: " + ",".join(f"{len(self.memories[n])},{self.memory_sizes[n]}"
                                               for n in names)])
        else:
            self._answer([], "ERROR")

    def _at_csca(self, rest: str) -> None:
        if rest.startswith("?"):
            self._answer([f'+CSCA: "{self.smsc or ""}",{145 if (self.smsc or "").startswith("+") else 129}'])
        elif rest.startswith("="):
            self.smsc = rest[1:].split(",")[0].strip().strip('"') or None
            self._answer([])
        else:
            self._answer([], "ERROR")

    def _at_csms(self, rest: str) -> None:
        self._answer(["+CSMS: 0,1,1,1"] if rest.startswith("?") else [])

    def _at_cscs(self, rest: str) -> None:
        if rest == "=?":
            self._answer(['+CSCS: ("IRA","GSM","UCS2","HEX","PCCP","PCDN","8859-1")'])
        elif rest.startswith("?"):
            self._answer([f'+CSCS: "{self._charset}"'])
        else:
            self._charset = rest.lstrip("=").strip().strip('"') or "IRA"
            self._answer([])

    def _at_csq(self, rest: str) -> None:
        self._answer([f"+CSQ: {self.signal if self._state.cfun == 1 else 99},0"])

    def _registration(self, name: str) -> None:
        on = self.registered and self._state.cfun == 1
        stat = 1 if on else 2
        if name == "CREG" and MODELS[self.model]["lte"]:
            stat = 0 if on else 2  # LTE-M modems leave CREG unregistered; CGREG/CEREG tell the truth
        mode = self._state.reg_mode.get(name, 0)
        location = ',"1A2B","00C3D4E5"' if mode >= 2 and stat in (1, 5) else ""
        self._answer([f"+{name}: {mode},{stat}{location}"])

    def _set_reg_mode(self, name: str, rest: str) -> None:
        mode = _int(rest.lstrip("="))
        if mode is None or mode > 2:
            self._answer([], "ERROR")
            return
        self._state.reg_mode[name] = mode
        self._answer([])

    def _at_creg(self, rest: str) -> None:
        self._registration("CREG") if rest.startswith("?") else self._set_reg_mode("CREG", rest)

    def _at_cgreg(self, rest: str) -> None:
        self._registration("CGREG") if rest.startswith("?") else self._set_reg_mode("CGREG", rest)

    def _at_cgatt(self, rest: str) -> None:
        attached = self.registered and self._state.cfun == 1
        self._answer([f"+CGATT: {int(attached)}"] if rest.startswith("?") else [])

    def _at_cereg(self, rest: str) -> None:
        if not MODELS[self.model]["lte"]:
            self._answer([], "ERROR")
        else:
            self._registration("CEREG") if rest.startswith("?") else self._set_reg_mode("CEREG", rest)

    def _at_cops(self, rest: str) -> None:
        if rest.startswith("?"):
            on = self.registered and self._state.cfun == 1
            self._answer([f'+COPS: 0,0,"{self.operator}"' if on else "+COPS: 0"])
        else:
            self._answer([])

    def _at_cfun(self, rest: str) -> None:
        if rest.startswith("?"):
            self._answer([f"+CFUN: {self._state.cfun}"])
            return
        values = rest.lstrip("=").split(",")
        if values[0] not in ("0", "1", "4"):
            self._answer([], "ERROR")
            return
        self._answer([])
        if len(values) > 1 and values[1].strip() == "1":
            self._reboot(keep_output=True)
        else:
            self._state.cfun = int(values[0])

    def _at_cnma(self, rest: str) -> None:
        self._error("cms", 340)

    def _at_cmgl(self, rest: str) -> None:
        if self._sim_blocked():
            return
        wanted = rest.lstrip("=").strip().strip('"')
        if self._state.cmgf != 0 or wanted not in ("0", "1", "2", "3", "4"):
            self._error("cms", 302 if self._state.cmgf != 0 else 304)
            return
        lines = []
        for index, slot in sorted(self.memories[self._state.storage].items()):
            if wanted == "4" or slot.stat == int(wanted):
                lines += [f"+CMGL: {index},{slot.stat},,{pdu_codec.tpdu_length(slot.pdu)}", slot.pdu]
                if slot.stat == 0:
                    slot.stat = 1
        self._answer(lines)

    def _at_cmgr(self, rest: str) -> None:
        if self._sim_blocked():
            return
        index = _int(rest.lstrip("="))
        memory = self.memories[self._state.storage]
        if self._state.cmgf != 0:
            self._error("cms", 302)
        elif index is None or not 1 <= index <= self.memory_sizes[self._state.storage]:
            self._error("cms", 321)
        elif index not in memory:
            self._answer([])  # an empty slot: SIM800 answers a bare OK
        else:
            slot = memory[index]
            self._answer([f"+CMGR: {slot.stat},,{pdu_codec.tpdu_length(slot.pdu)}", slot.pdu])
            if slot.stat == 0:
                slot.stat = 1

    def _at_cmgd(self, rest: str) -> None:
        if self._sim_blocked():
            return
        args = rest.lstrip("=").split(",")
        index, flag = _int(args[0]), _int(args[1]) if len(args) > 1 else 0
        memory = self.memories[self._state.storage]
        size = self.memory_sizes[self._state.storage]
        if index is None or flag is None or not 0 <= index <= size or not 0 <= flag <= 4:
            self._error("cms", 321)
            return
        if flag == 0:
            memory.pop(index, None)
        else:
            keep = {1: {0, 2, 3}, 2: {0, 3}, 3: {0}, 4: set()}[flag]
            for location in [i for i, s in memory.items() if s.stat not in keep]:
                del memory[location]
        self._answer([])
        self._release_network_queue()

    def _at_cmgs(self, rest: str) -> None:
        if self._sim_blocked():
            return
        length = _int(rest.lstrip("="))
        if self._state.cmgf != 0 or length is None or not 7 <= length <= 164:
            self._error("cms", 302 if self._state.cmgf != 0 else 304)
            return
        self._cmgs = pending = _Pending(length)
        self._emit_raw(b"\r\n> ", self.response_delay)
        if self.prompt_timeout is not None:
            self._timers.append((time.monotonic() + self.prompt_timeout, lambda: self._prompt_expired(pending)))
        if self._held and self._held_after_prompt:
            self._emit_raw("".join(f"\r\n{line}\r\n" for line in self._held).encode("ascii"))
            self._held, self._hold_urcs, self._held_after_prompt = [], False, False

    def _prompt_expired(self, pending: _Pending) -> None:
        if self._cmgs is pending:
            log.info("simulated modem gave up waiting at the > prompt")
            self._cmgs = None
            self._answer([], "ERROR")

    def _at_cmgw(self, rest: str) -> None:
        self._at_cmgs(rest)
        if self._cmgs is not None:
            self._cmgs.write = True

    def _write_stored(self, length: int, hex_text: str) -> None:
        """A complete AT+CMGW: keep the SUBMIT in storage as STO UNSENT (stat 2) and say where."""
        if self._checked_submit(length, hex_text) is None:
            return
        index = self._free_slot(self._state.write_storage)
        if index is None:
            self._error("cms", 322)
            return
        self.memories[self._state.write_storage][index] = _Slot(2, hex_text.upper())
        self._answer([f"+CMGW: {index}"])

    def _at_cmss(self, rest: str) -> None:
        """AT+CMSS=<index>: send a stored SUBMIT; its slot becomes STO SENT (stat 3)."""
        if self._sim_blocked():
            return
        index = _int(rest.lstrip("=").split(",")[0])
        if self._wiped_slots > 0 and index is not None:
            self._wiped_slots -= 1
            self.memories[self._state.write_storage].pop(index, None)
        slot = self.memories[self._state.write_storage].get(index) if index is not None else None
        if slot is None or slot.stat not in (2, 3):
            self._error("cms", 321)
            return
        self._submit(pdu_codec.tpdu_length(slot.pdu), slot.pdu, stored=slot)

    def _checked_submit(self, length: int, hex_text: str) -> Submit | None:
        try:
            submit = pdu_codec.decode(hex_text)
            actual = pdu_codec.tpdu_length(hex_text)
        except CodecError as exc:
            log.info("simulated modem refused a PDU: %s", exc)
            self._error("cms", 304)
            return None
        if not isinstance(submit, Submit) or actual != length:
            self._error("cms", 304)
            return None
        return submit

    def _submit(self, length: int, hex_text: str, stored: _Slot | None = None) -> None:
        """A complete AT+CMGS (or AT+CMSS of ``stored``): check the PDU, fail as scripted, or send it."""
        submit = self._checked_submit(length, hex_text)
        if submit is None:
            return
        if self._reboot_on_send:
            self._reboot_on_send = False
            self._reboot()
            return
        if stored is None and self._take_rule("CMGS"):
            return
        if not (self.registered and self._state.cfun == 1):
            self._error("cms", 331)
            return
        if hex_text.startswith("00") and not self.smsc:
            self._error("cms", 330)
            return
        reference = self.next_reference
        self.next_reference = (self.next_reference + 1) & 0xFF
        sent = SentMessage(reference, simnet.with_reference(submit, reference), hex_text.upper(),
                           time.monotonic())
        self.sent.append(sent)
        self._sent_changed.notify_all()
        if stored is not None:
            stored.stat = 3  # STO SENT: kept in storage (it survives an agent crash or a reboot)
        if self.on_sent is not None:
            self.on_sent(sent)
        self._answer([f"+CMSS: {reference}" if stored is not None else f"+CMGS: {reference}"])
        status = self.report_for(sent) if self.report_for is not None else self.report_status
        if submit.request_status_report and status is not None:
            self._timers.append((time.monotonic() + self.report_delay,
                                 lambda: self._status_report(sent, status)))

    # --- the network side

    def _network_deliver(self, hex_text: str) -> None:
        if not self.sim_inserted or self._state.sim_state != "READY" or not self.registered:
            self.network_queue.append(hex_text)  # the network keeps it until the phone is reachable
            return
        mt = self._state.cnmi[1]
        if mt in (2, 3) and not self._silent():
            self._urc(f"+CMT: ,{pdu_codec.tpdu_length(hex_text)}", hex_text)
            return
        receive = self._state.receive_storage
        index = self._free_slot(receive)
        if index is None:
            self.network_queue.append(hex_text)  # memory capacity exceeded: the network retries later
            log.info("simulated SIM full; message held by the network (%d waiting)", len(self.network_queue))
            return
        self.memories[receive][index] = _Slot(0, hex_text)
        if mt == 1:
            self._urc(f'+CMTI: "{receive}",{index}')

    def _release_network_queue(self) -> None:
        while self.network_queue and self._free_slot(self._state.receive_storage) is not None \
                and self.registered:
            self._network_deliver(self.network_queue.popleft())

    def _status_report(self, sent: SentMessage, status: int) -> None:
        _report, hex_text = simnet.status_report_for(sent, status)
        ds = self._state.cnmi[3]
        if ds == 1:
            self._urc(f"+CDS: {pdu_codec.tpdu_length(hex_text)}", hex_text)
        elif ds == 2:
            receive = self._state.receive_storage
            index = self._free_slot(receive)
            if index is not None:
                self.memories[receive][index] = _Slot(0, hex_text)
                self._urc(f'+CDSI: "{receive}",{index}')

    def _free_slot(self, memory: str = "SM") -> int | None:
        used = self.memories[memory]
        return next((i for i in range(1, self.memory_sizes[memory] + 1) if i not in used), None)

    def _apply_sim_lock(self) -> None:
        self._state.sim_state = "SIM PUK" if self.puk_locked else "SIM PIN" if self.pin else "READY"

    def _reboot(self, keep_output: bool = False) -> None:
        """Forget volatile settings; output not yet written is lost too, unless ``keep_output`` (the OK of
        AT+CFUN=1,1 goes out before the modem restarts)."""
        self.reboots += 1
        self._state = _Volatile(echo=self.factory_echo)
        self._apply_sim_lock()
        self._cmgs = None
        self._inbuf.clear()
        if not keep_output:
            self._out.clear()
        self._booting_until = time.monotonic() + self.boot_time
        sim = f"+CPIN: {self._state.sim_state}" if self.sim_inserted else "+CPIN: NOT INSERTED"
        banner = ["RDY", "+CFUN: 1", sim]
        if self._state.sim_state == "READY":
            banner += list(MODELS[self.model]["ready"])
        self._timers.append((self._booting_until, lambda: self._urc(*banner)))
        self._timers.append((self._booting_until + 0.001, self._release_network_queue))
        self._wake()


def _noise(size: int) -> bytes:
    """Random bytes that are not text (so they cannot be mistaken for a reply), never CR or LF."""
    pool = [b for b in range(256) if b < 0x20 or b >= 0x7F]
    pool = [b for b in pool if b not in (0x0A, 0x0D, 0x1A, 0x1B)]
    return bytes(random.choice(pool) for _ in range(size))


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None
