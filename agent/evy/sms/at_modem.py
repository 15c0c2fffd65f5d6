"""The AT driver: a SIM800/SIM7000/generic modem in PDU mode over pyserial, the single owner of its port.

Start-up probes the modem and picks settings it supports (profiles.py); URCs become events; the base class
(modem.py) adds retries, the lock and the watchdog, which calls ``_heartbeat`` and ``_reinitialise`` here.
"""

from __future__ import annotations

import time
from typing import Any

from evy.sms import pdu as pdu_codec
from evy.sms.at_lines import Urc, info_fields, is_hex, parse_ranges, parse_storage_lists
from evy.sms.at_session import AtSession
from evy.sms.errors import (
    CmsError,
    CodecError,
    ModemError,
    ModemTimeout,
    PinError,
    PortError,
    RestartedMidCommand,
    StoredPduError,
)
from evy.sms.message import Deliver, StatusReport
from evy.sms.modem import (
    REJECTED_PINS,
    InlineMessage,
    Modem,
    ModemEvent,
    ModemSettings,
    NewMessage,
    StatusReportEvent,
    StorageFull,
    StoredMessage,
    UnreadableMessage,
)
from evy.sms.profiles import choose_cnmi, get_profile

REGISTERED = {1, 5}  # home, roaming
_PROBE_TIMEOUT = 1.0


class AtModem(Modem):
    def __init__(self, settings: ModemSettings, **kwargs: Any):
        super().__init__(settings, **kwargs)
        self.profile = get_profile(settings.profile)
        self._port: Any = None
        self._session: AtSession | None = None
        self._events: list[ModemEvent] = []
        self._stored_reports: list[int] = []  # +CDSI locations still to read
        self.storage: str | None = None
        self.capacity: tuple[int, int] | None = None  # (used, total) of the receive storage
        self.cnmi: str | None = None
        self.identity: str | None = None
        self._full_reported = False

    def describe(self) -> str:
        return f"AT on {self.settings.port} at {self.settings.baud} baud, profile {self.profile.name}"

    # --- lifecycle hooks

    def _open(self) -> None:
        self._events, self._stored_reports = [], []
        self._open_port()
        self._initialise_through_reboots()

    def _close(self) -> None:
        port, self._port, self._session = self._port, None, None
        if port is not None:
            try:
                port.close()
            except OSError as exc:  # the descriptor died with the device: nothing left to close
                self.log.debug("closing the port: %s", exc)
                # Forget the dead descriptor, or a later close() would hit whatever reuses its number.
                port.fd, port.is_open = None, False

    def _reinitialise(self, rebooted: bool) -> None:
        if rebooted and self._session is not None:
            self._wait_until_answering(self.profile.boot_time + 5 * self.settings.command_timeout)
            self._initialise_through_reboots()
            return
        # Silent modem: re-open the port (USB re-enumeration, stale descriptor), then reboot the modem
        # with AT+CFUN=1,1 if it answers, and initialise from scratch.
        self._close()
        self._open_port()
        self._wait_until_answering(self.settings.probe_attempts * _PROBE_TIMEOUT)
        try:
            self._cmd("AT+CFUN=1,1")
        except ModemError as exc:
            self.log.warning("AT+CFUN=1,1 failed (%s); initialising without a reboot", exc)
        else:
            time.sleep(min(0.5, self.profile.boot_time))
            self._session.drain(quiet=0.2, limit=self.profile.boot_time)
            self._wait_until_answering(self.profile.boot_time + 5 * self.settings.command_timeout)
        self._initialise_through_reboots()

    def _open_port(self) -> None:
        import serial  # pyserial; imported here so the rest of EVY loads without it

        try:
            self._port = serial.Serial(self.settings.port, self.settings.baud, timeout=0, write_timeout=5,
                                       exclusive=True)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PortError(f"cannot open modem port {self.settings.port}: {exc} (check modem.port, and that "
                            "no other process such as ModemManager or a getty holds it)") from exc
        self._port.reset_input_buffer()
        self._session = AtSession(self._port, self._on_urc, self.log)

    def _initialise_through_reboots(self, attempts: int = 3) -> None:
        """Initialise; a reboot in the middle (RDY) starts it again, as its settings are gone."""
        for attempt in range(1, attempts + 1):
            try:
                self._initialise()
            except RestartedMidCommand as exc:
                if attempt == attempts:
                    raise
                self.log.warning("the modem rebooted during initialisation (%s); starting again", exc)
                continue
            self._restart_reason = None  # any boot banner seen so far is covered by this initialisation
            return

    def _initialise(self) -> None:
        self._wait_until_answering(self.settings.probe_attempts * _PROBE_TIMEOUT)
        self._cmd_logged("ATE0")  # echo that stays on is filtered anyway
        self._session.drain(quiet=0.02, limit=0.2)
        self._cmd("AT+CMEE=1")
        self._unlock_sim()
        self._cmd_patiently("AT+CMGF=0")
        for command in self.profile.init:
            self._cmd_logged(command)
        self._choose_storage()
        self._choose_cnmi()
        if self.settings.smsc:
            self._cmd(f'AT+CSCA="{self.settings.smsc}",{145 if self.settings.smsc.startswith("+") else 129}')
        else:
            lines = self._cmd_logged("AT+CSCA?", "+CSCA:")
            fields = info_fields(lines[0], "+CSCA:") if lines else []
            if lines is not None and not (fields and fields[0]):
                self.log.warning("the SIM has no SMS centre number; sending fails with CMS 330 until "
                                 "modem.smsc is set")
        ident = self._cmd_logged("ATI")
        self.identity = " ".join(ident) if ident else None

    def _wait_until_answering(self, budget: float) -> None:
        """``AT`` until OK (autobaud, boot, stale input); ModemTimeout if the modem stays silent. A prompt left
        pending (a crashed agent) is cleared first, or every probe would be swallowed as PDU text."""
        self._session_required().clear_prompt()
        deadline = time.monotonic() + budget
        attempts = 0
        last: ModemError | None = None
        while attempts < self.settings.probe_attempts or time.monotonic() < deadline:
            attempts += 1
            try:
                self._session.command("AT", min(_PROBE_TIMEOUT, self.settings.command_timeout))
                return
            except (ModemTimeout, RestartedMidCommand, CmsError) as exc:
                last = exc
                if time.monotonic() >= deadline and attempts >= self.settings.probe_attempts:
                    break
        raise ModemTimeout(f"the modem on {self.settings.port} does not answer AT ({attempts} tries: "
                           f"{last}); check power, wiring and modem.baud")

    def _unlock_sim(self) -> None:
        state = self._sim_state()
        if state == "SIM PIN":
            pin = self.settings.pin
            if not pin:
                raise PinError("the SIM asks for its PIN: set modem.pin")
            if (self.settings.port, pin) in REJECTED_PINS:
                raise PinError("the SIM refused modem.pin earlier in this run; it is not entered again: "
                               "fix modem.pin and restart")
            left = self._pin_attempts_left()
            if left is not None and left[0] < left[1]:
                raise PinError(f"the SIM has {left[0]} of {left[1]} PIN attempts left, so a wrong PIN was "
                               "entered before; EVY does not risk a PUK lock: check modem.pin, unlock the SIM "
                               "in a phone, then restart")
            self.log.info("entering the SIM PIN (once)")
            try:
                self._session.command(f'AT+CPIN="{pin}"', self.settings.command_timeout)
            except CmsError as exc:
                REJECTED_PINS.add((self.settings.port, pin))
                raise PinError(f"the SIM refused modem.pin ({exc.kind.upper()} ERROR {exc.code}: "
                               f"{exc.cause}); fix modem.pin - it is not retried, so the SIM cannot get "
                               "PUK-locked") from exc
            except ModemTimeout as exc:
                REJECTED_PINS.add((self.settings.port, pin))
                raise PinError("no answer to the SIM PIN; not retried so the SIM cannot get PUK-locked: "
                               "check the SIM in a phone") from exc
            state = self._sim_state()
        if state in ("SIM PUK", "SIM PUK2", "PH-SIM PIN", "SIM PIN2"):
            raise PinError(f"the SIM is locked ({state}): unlock it with its PUK in a phone, then restart")
        if state != "READY":
            raise PinError(f"the SIM is not ready ({state})")

    def _pin_attempts_left(self) -> tuple[int, int] | None:
        """(left, full) PIN attempts from AT+CPINR (3GPP 27.007); None where the modem lacks it."""
        try:
            lines = self._session.command('AT+CPINR="SIM PIN"', self.settings.command_timeout, "+CPINR:")
        except CmsError:
            return None
        for line in lines:
            fields = info_fields(line, "+CPINR:")
            if len(fields) >= 3 and fields[0] == "SIM PIN" and fields[1].isdigit() and fields[2].isdigit():
                return int(fields[1]), int(fields[2])
        return None

    def _sim_state(self) -> str:
        """AT+CPIN? with retries while the SIM is busy starting (CME 14 / CMS 314)."""
        attempts = max(3, self.settings.retries)
        for attempt in range(1, attempts + 1):
            try:
                lines = self._session.command("AT+CPIN?", self.settings.command_timeout, "+CPIN:")
            except CmsError as exc:
                if exc.category == "sim" and exc.transient and attempt < attempts:
                    time.sleep(self.settings.retry_backoff * 2 ** (attempt - 1))
                    continue
                if exc.category in ("pin", "sim"):
                    raise PinError(f"{exc}") from exc
                raise
            for line in lines:
                if line.startswith("+CPIN:"):
                    return line.partition(":")[2].strip()
            raise ModemError(f"AT+CPIN? gave no +CPIN line: {lines}")
        raise AssertionError("unreachable")

    def _choose_storage(self) -> None:
        offered: list[list[str]] = []
        lines = self._cmd_logged("AT+CPMS=?", "+CPMS:")
        if lines:
            offered = parse_storage_lists(lines[0].partition(":")[2])
        wanted = self.settings.storage or self.profile.storage
        first = offered[0] if offered else []
        if not wanted:
            wanted = "SM" if not first or "SM" in first else first[0]
        elif first and wanted not in first:
            raise ModemError(f"modem.storage {wanted!r} is not offered by the modem "
                             f"(it has {', '.join(first)})", transient=False)
        lines = self._cmd_patiently(f'AT+CPMS="{wanted}","{wanted}","{wanted}"', "+CPMS:")
        self.storage = wanted
        self._note_capacity(lines)

    def _note_capacity(self, lines: list[str]) -> None:
        for line in lines:
            fields = info_fields(line, "+CPMS:")
            numbers = [int(f) for f in fields if f.isdigit()]
            if len(numbers) >= 2:
                self.capacity = (numbers[0], numbers[1])

    def _choose_cnmi(self) -> None:
        ranges = None
        lines = self._cmd_logged("AT+CNMI=?", "+CNMI:")
        if lines:
            ranges = parse_ranges(lines[0].partition(":")[2])
        self.cnmi = choose_cnmi(self.profile, ranges, self.settings.status_reports, self.settings.cnmi)
        self._cmd_patiently(f"AT+CNMI={self.cnmi}")

    # --- the operations

    def _list_stored(self) -> list[StoredMessage]:
        lines = self._cmd("AT+CMGL=4", "+CMGL:", timeout=max(self.settings.command_timeout, 10.0))
        stored = []
        for header, pdu in _pairs(lines, "+CMGL:"):
            location = int(info_fields(header, "+CMGL:")[0])
            try:
                message = self._decode(location, pdu)
            except StoredPduError as exc:
                self.log.error("%s", exc)
                self._events.append(UnreadableMessage(location, pdu, str(exc)))
                continue
            if isinstance(message, StoredMessage):
                stored.append(message)
        stored.sort(key=lambda m: m.location)
        return stored

    def _read(self, location: int) -> StoredMessage | None:
        try:
            lines = self._cmd(f"AT+CMGR={location}", "+CMGR:")
        except CmsError as exc:
            if exc.code == 321 or (exc.kind == "cme" and exc.code in (21, 22)):
                return None  # empty slot on modems that say so with an error
            raise
        for _header, pdu in _pairs(lines, "+CMGR:"):
            message = self._decode(location, pdu)
            return message if isinstance(message, StoredMessage) else None
        return None

    def _delete(self, location: int) -> None:
        self._cmd(f"AT+CMGD={location}")
        if self.capacity:
            self.capacity = (max(0, self.capacity[0] - 1), self.capacity[1])

    def _send(self, part: Any) -> int:
        lines = self._session_required().send_pdu(part.tpdu_length, part.hex, self.settings.command_timeout,
                                                  self.settings.send_timeout)
        return self._reference(lines, "+CMGS:")

    # --- stored sending (AT+CMGW / AT+CMSS): the slot's STO SENT flag survives an agent crash

    supports_stored_send = True

    def _store_outgoing(self, part: Any) -> int:
        lines = self._session_required().send_pdu(part.tpdu_length, part.hex, self.settings.command_timeout,
                                                  self.settings.command_timeout, verb="CMGW")
        return self._reference(lines, "+CMGW:")

    def _send_stored(self, location: int) -> int:
        return self._reference(self._cmd(f"AT+CMSS={location}", "+CMSS:", timeout=self.settings.send_timeout),
                               "+CMSS:")

    def _outgoing_state(self, location: int) -> str | None:
        try:
            lines = self._cmd(f"AT+CMGR={location}", "+CMGR:")
        except CmsError as exc:
            if exc.code == 321 or (exc.kind == "cme" and exc.code in (21, 22)):
                return None
            raise
        for header, _pdu in _pairs(lines, "+CMGR:"):
            stat = info_fields(header, "+CMGR:")[0]
            return {"2": "unsent", "3": "sent"}.get(stat)
        return None

    def _list_unsent(self) -> list[int]:
        return self._list_outgoing(2)

    def _list_sent(self) -> list[int]:
        return self._list_outgoing(3)

    def _list_outgoing(self, stat: int) -> list[int]:
        lines = self._cmd(f"AT+CMGL={stat}", "+CMGL:", timeout=max(self.settings.command_timeout, 10.0))
        return sorted(int(info_fields(header, "+CMGL:")[0]) for header, _pdu in _pairs(lines, "+CMGL:"))

    @staticmethod
    def _reference(lines: list[str], prefix: str) -> int:
        for line in lines:
            fields = info_fields(line, prefix)
            if fields and fields[0].isdigit():
                return int(fields[0])
        raise ModemError(f"AT{prefix[:-1]} succeeded without a reference: {lines}")

    def _poll(self, timeout: float) -> list[ModemEvent]:
        if not self._events and not self._stored_reports:
            self._session_required().poll(timeout)
        while self._stored_reports:
            location = self._stored_reports.pop(0)
            self._read(location)  # a report read from storage is queued as a StatusReportEvent
        events, self._events = self._events, []
        return events

    def _heartbeat(self) -> dict[str, Any]:
        self._cmd("AT", timeout=min(self.settings.command_timeout, 5.0))
        signal = None
        lines = self._cmd_logged("AT+CSQ", "+CSQ:")
        if lines:
            fields = info_fields(lines[0], "+CSQ:")
            if fields and fields[0].isdigit() and int(fields[0]) != 99:
                signal = int(fields[0])
        registered = False
        for name in self.profile.registration:
            lines = self._cmd_logged(f"AT+{name}?", f"+{name}:")
            fields = info_fields(lines[0], f"+{name}:") if lines else []
            if len(fields) >= 2 and fields[1].isdigit() and int(fields[1]) in REGISTERED:
                registered = True
                break
        operator = None
        if registered:
            lines = self._cmd_logged("AT+COPS?", "+COPS:")
            fields = info_fields(lines[0], "+COPS:") if lines else []
            operator = fields[2] if len(fields) >= 3 and fields[2] else None
        lines = self._cmd_logged("AT+CPMS?", "+CPMS:")
        if lines:
            self._note_capacity([_cpms_numbers(lines[0])])
            full = bool(self.capacity and self.capacity[1] and self.capacity[0] >= self.capacity[1])
            if full and not self._full_reported:  # once per filling, not at every heartbeat
                self.log.warning("message storage is full (%d/%d)", *self.capacity)
                self._events.append(StorageFull(*self.capacity))
            self._full_reported = full
        return {"state": "ready" if registered else "not-registered", "signal": signal,
                "registered": registered, "operator": operator}

    def _rescan(self, everything: bool = False) -> list[ModemEvent]:
        """Storage holds something while nothing is pending: a +CMTI may have been lost (noise, a timeout, a
        reboot), so announce every received message still stored; re-reading one is harmless. The heartbeat's
        rescan trusts AT+CPMS?'s count; a sweep (``everything``) lists storage whatever it says."""
        if not everything and (not self.capacity or self.capacity[0] == 0 or self._events):
            return []
        found = self._list_stored()
        if found:
            self.log.warning("%d stored message(s) were never announced; announcing them now", len(found))
        return [NewMessage(message.location) for message in found]

    # --- URCs

    def _on_urc(self, urc: Urc) -> None:
        if urc.name == "CMTI" and urc.index is not None:
            self._events.append(NewMessage(urc.index))
        elif urc.name == "CDSI" and urc.index is not None:
            self._stored_reports.append(urc.index)
        elif urc.name in ("CMT", "CDS") and urc.pdu:
            self._on_pushed_pdu(urc)
        elif urc.name == "RDY":
            self._mark_restarted(f"the modem rebooted ({urc.line})")
        elif urc.name == "POWER":
            self.log.error("modem power problem: %s", urc.line)
            self._set_status(last_error=urc.line)
        elif urc.line.startswith("+CMS ERROR"):
            self.log.warning("unsolicited %s", urc.line)
        else:
            self.log.debug("ignored URC %s", urc.line)

    def _on_pushed_pdu(self, urc: Urc) -> None:
        try:
            message = pdu_codec.decode(urc.pdu)
        except CodecError as exc:
            self.log.error("undecodable +%s PDU %s: %s", urc.name, urc.pdu, exc)
            self._events.append(UnreadableMessage(None, urc.pdu, str(exc)))  # pushed: no slot to free
            return
        if isinstance(message, StatusReport):
            self._events.append(StatusReportEvent(message, None, urc.pdu))
        elif isinstance(message, Deliver):
            self._events.append(InlineMessage(message, urc.pdu))

    # --- helpers

    def _decode(self, location: int, pdu: str) -> StoredMessage | StatusReport | None:
        """A stored Deliver as StoredMessage; a stored report is queued as an event; sent ones ignored."""
        try:
            message = pdu_codec.decode(pdu)
        except CodecError as exc:
            raise StoredPduError(location, pdu, str(exc)) from None
        if isinstance(message, Deliver):
            return StoredMessage(location, message, pdu)
        if isinstance(message, StatusReport):
            self._events.append(StatusReportEvent(message, location, pdu))
            return message
        return None

    def _session_required(self) -> AtSession:
        if self._session is None:
            raise PortError("the modem port is closed (it failed earlier; the watchdog re-opens it)")
        return self._session

    def _cmd(self, command: str, prefix: str | None = None, timeout: float | None = None) -> list[str]:
        return self._session_required().command(command, timeout or self.settings.command_timeout, prefix)

    def _cmd_patiently(self, command: str, prefix: str | None = None) -> list[str]:
        """A start-up command retried while the SIM is busy (CME 14 / CMS 314) or SMS is not up yet ("operation
        not allowed", CMS 302 / CME 3): after a reboot a SIM800 answers AT seconds before "SMS Ready"."""
        attempts = max(4, self.settings.retries)
        for attempt in range(1, attempts + 1):
            try:
                return self._cmd(command, prefix)
            except CmsError as exc:
                not_yet = (exc.kind, exc.code) in (("cms", 302), ("cme", 3))
                if not ((exc.transient and exc.category == "sim") or not_yet) or attempt == attempts:
                    raise
                time.sleep(self.settings.retry_backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def _cmd_logged(self, command: str, prefix: str | None = None) -> list[str] | None:
        """A command whose error only matters to the log (optional capability); timeouts still raise."""
        try:
            return self._cmd(command, prefix)
        except CmsError as exc:
            self.log.info("%s not supported here: %s", command, exc)
            return None


def _pairs(lines: list[str], prefix: str) -> list[tuple[str, str]]:
    """(header, pdu) pairs from a CMGL/CMGR response; a header without a hex line after it is skipped."""
    pairs = []
    for index, line in enumerate(lines):
        if line.startswith(prefix) and index + 1 < len(lines) and is_hex(lines[index + 1]):
            pairs.append((line, lines[index + 1].upper()))
    return pairs


def _cpms_numbers(line: str) -> str:
    """``+CPMS: "SM",3,20,...`` (query form) → ``+CPMS: 3,20`` so the set-form parser reads it."""
    fields = [f for f in info_fields(line, "+CPMS:") if f.isdigit()]
    return "+CPMS: " + ",".join(fields[:2])
