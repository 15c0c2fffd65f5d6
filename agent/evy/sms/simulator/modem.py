"""The simulated modem's public face: ``ModemSimulator``, a SIM800-like modem on a real pseudo-terminal, for
tests, benchmarks and `evy sim`, and the fault-injection API that scripts it.

The agent opens ``ModemSimulator.port`` (the pty's slave) with pyserial exactly as it opens ``/dev/ttyS0``; a
thread answers AT commands in PDU mode on the master side. The simulated network is scriptable (incoming
messages, delivery reports, registration: ``network.NetworkSide``) and faults can be injected (error results,
silence, line noise, slow or chopped answers, a full SIM, reboots, SIM PIN/PUK, lost URCs, a storage slot
wiped under the modem, the whole modem unplugged and plugged back).

Thread safety: public methods take one lock shared with the thread.
"""

from __future__ import annotations

import time

from evy.sms.simulator.commands import AtCommands
from evy.sms.simulator.state import Rule, noise_bytes


class ModemSimulator(AtCommands):
    """A simulated SIM800 (``model="sim800"``) or SIM7000 (``"sim7000"``); its constructor is
    ``state.ModemState``'s (storage sizes, echo, SIM PIN/PUK, registration, SMSC, ``link``)."""

    # --- faults

    def fail_next(self, command: str, *, cms: int | None = None, cme: int | None = None,
                  count: int = 1) -> None:
        """The next ``count`` uses of ``command`` ("CMGS", "CPIN", "AT", ...) fail with this error (a plain
        ERROR when neither code is given; with AT+CMEE=0 every error is a plain ERROR, as on a modem)."""
        kind, code = ("cms", cms) if cms is not None else ("cme", cme) if cme is not None else ("error", None)
        with self._lock:
            self._rules.append(Rule(command.upper().lstrip("+"), kind, code, count))

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
        noise = data if data is not None else noise_bytes(size)
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
                self._rules.append(Rule(name, "cme", 14, commands))

    def plug(self) -> None:
        """Plugged back in after ``unplug``: the modem lost power meanwhile, so it boots (settings forgotten,
        storage kept)."""
        with self._lock:
            was_plugged = self.plugged
            super().plug()
            if not was_plugged:
                self._reboot()

    # --- hooks of the pty device

    def _wakeups(self, now: float) -> list[float]:
        moments = [self._booting_until] if self._booting_until > now else []
        if self._silent_until is not None and now < self._silent_until != float("inf"):
            moments.append(self._silent_until)
        return moments
