"""What the simulated modem remembers and how it speaks: its storage, the settings a reboot forgets, the
faults scripted for it, and the output primitives (answers, URCs, errors) every other part writes through.

The layers above build on this one: ``network.NetworkSide`` (the network's side of SMS), then
``commands.AtCommands`` (the AT command table), then ``modem.ModemSimulator`` (the public fault API).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from evy.sms.message import Submit
from evy.sms.simulator.pty import PtyDevice

log = logging.getLogger("evy.sms.simulator")

CME_TEXT = {3: "operation not allowed", 4: "operation not supported", 10: "SIM not inserted",
            11: "SIM PIN required", 12: "SIM PUK required", 14: "SIM busy", 16: "incorrect password",
            30: "no network service", 100: "unknown"}
MODELS = {
    "sim800": {"ident": "SIM800 R14.18", "cnmi_ranges": "(0-3),(0-3),(0,2),(0,1),(0,1)",
               "lte": False, "ready": ("Call Ready", "SMS Ready")},
    "sim7000": {"ident": "SIM7000G R1529", "cnmi_ranges": "(0-3),(0-3),(0-3),(0-2),(0,1)", "lte": True,
                "ready": ("SMS DONE", "PB DONE")},
}
DEFAULT_SMSC = "+254722000000"


@dataclass(frozen=True)
class SentMessage:
    """One SMS-SUBMIT the kit handed to the simulated network."""

    reference: int  # the TP-MR the modem answered with (+CMGS)
    submit: Submit  # decoded, with ``reference`` set to that TP-MR
    pdu: str
    at: float  # time.monotonic() when it was accepted


@dataclass
class Rule:
    """A scripted failure: the next ``remaining`` uses of ``command`` answer this error."""

    command: str  # "CMGS", "CPIN", "AT", ...
    kind: str  # "cms" | "cme" | "error"
    code: int | None
    remaining: int


@dataclass
class Slot:
    stat: int
    pdu: str


@dataclass
class Volatile:
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
class Pending:
    """An AT+CMGS (send) or AT+CMGW (write to storage) waiting for its PDU."""

    length: int
    data: bytearray = field(default_factory=bytearray)
    write: bool = False  # AT+CMGW: store as STO UNSENT instead of sending


class ModemState(PtyDevice):
    def __init__(self, storage_size: int = 20, echo: bool = True, pin: str | None = None, *,
                 model: str = "sim800", registered: bool = True, smsc: str | None = DEFAULT_SMSC,
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
        self.storage: dict[int, Slot] = {}  # the SIM ("SM"); the phone memory ("ME") is separate
        self.memories: dict[str, dict[int, Slot]] = {"SM": self.storage, "ME": {}}
        self.memory_sizes = {"SM": storage_size, "ME": phone_storage_size}
        self.network_queue: deque[str] = deque()  # DELIVER PDUs held back while the SIM is full
        self._state = Volatile(echo=echo)
        self._rules: list[Rule] = []
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
        self._cmgs: Pending | None = None
        self._apply_sim_lock()

    # --- observation

    @property
    def stored(self) -> dict[int, str]:
        with self._lock:
            return {index: slot.pdu for index, slot in sorted(self.storage.items())}

    @property
    def state(self) -> Volatile:
        """A copy of the settings a reboot forgets (echo, CMEE, CMGF, CNMI, SIM state, storage, CFUN)."""
        with self._lock:
            return Volatile(**vars(self._state))

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
            self._emit_raw(noise_bytes(self.noise_before_answers), delay)
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

    # --- storage, SIM lock and power

    def _free_slot(self, memory: str = "SM") -> int | None:
        used = self.memories[memory]
        return next((i for i in range(1, self.memory_sizes[memory] + 1) if i not in used), None)

    def _apply_sim_lock(self) -> None:
        self._state.sim_state = "SIM PUK" if self.puk_locked else "SIM PIN" if self.pin else "READY"

    def _reboot(self, keep_output: bool = False) -> None:
        """Forget volatile settings; output not yet written is lost too, unless ``keep_output`` (the OK of
        AT+CFUN=1,1 goes out before the modem restarts)."""
        self.reboots += 1
        self._state = Volatile(echo=self.factory_echo)
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
        self._timers.append((self._booting_until + 0.001, self._after_boot))
        self._wake()

    def _after_boot(self) -> None:
        """Runs just after the boot banner (the network side delivers what it held)."""


def noise_bytes(size: int) -> bytes:
    """Random bytes that are not text (so they cannot be mistaken for a reply), never CR or LF."""
    pool = [b for b in range(256) if b < 0x20 or b >= 0x7F]
    pool = [b for b in pool if b not in (0x0A, 0x0D, 0x1A, 0x1B)]
    return bytes(random.choice(pool) for _ in range(size))
