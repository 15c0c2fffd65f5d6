"""One AT command at a time over an open serial port: write it, collect its response, hand every unsolicited
line (URC) that arrives meanwhile to a callback, and raise the mapped error on a failure result.

The port is a pyserial ``Serial`` opened with ``timeout=0``; waiting is done with ``select`` on its file
descriptor so a URC wakes the caller at once without re-configuring the port for every read.
"""

from __future__ import annotations

import logging
import select
import time
from collections.abc import Callable
from typing import Protocol

from evy.crash import crashpoint
from evy.sms import cms
from evy.sms.at_lines import LineReader, Urc, is_final, is_hex, parse_urc
from evy.sms.errors import ModemTimeout, PortError, RestartedMidCommand

CTRL_Z = b"\x1a"
ESC = b"\x1b"


class SerialPort(Protocol):
    def fileno(self) -> int: ...
    def read(self, size: int = 1) -> bytes: ...
    def write(self, data: bytes) -> int | None: ...
    @property
    def in_waiting(self) -> int: ...


class AtSession:
    def __init__(self, port: SerialPort, on_urc: Callable[[Urc], None], log: logging.Logger):
        self._port = port
        self._on_urc = on_urc
        self._reader = LineReader()
        self._lines: list[str] = []
        self._two_line: Urc | None = None  # a +CMT/+CDS header waiting for its PDU line
        self._out_of_step = False  # a command timed out: its late answer may still arrive
        self._got_bytes = False
        self.log = log

    # public

    def command(self, command: str, timeout: float, prefix: str | None = None) -> list[str]:
        """Run ``command`` (without CR); return its information lines; raise CmsError, ModemTimeout, ..."""
        if self._out_of_step:
            self._resynchronise(timeout)
        self._write(command.encode("ascii") + b"\r", command)
        return self._collect(command, time.monotonic() + timeout, prefix, echoes={command})

    def send_pdu(self, length: int, pdu: str, prompt_timeout: float, timeout: float,
                 verb: str = "CMGS") -> list[str]:
        """``AT+CMGS=<length>`` (or ``AT+CMGW``), wait for ``>``, then the PDU and Ctrl-Z; returns the
        ``+CMGS:`` (``+CMGW:``) lines."""
        command = f"AT+{verb}={length}"
        if self._out_of_step:
            self._resynchronise(prompt_timeout)
        self._write(command.encode("ascii") + b"\r", command)
        deadline = time.monotonic() + prompt_timeout
        while not self._reader.take_prompt():
            lines = self._next_lines(deadline, command, on_timeout=lambda: self._write(ESC, "ESC"))
            self._route(lines, command, f"+{verb}:", {command}, [])
        self._write(pdu.encode("ascii"), f"<PDU {len(pdu) // 2} octets>")
        crashpoint("at_prompt")  # the crash tests kill the agent here: the modem waits for the Ctrl-Z
        self._write(CTRL_Z, "Ctrl-Z")
        return self._collect(command, time.monotonic() + timeout, f"+{verb}:", echoes={command, pdu})

    def poll(self, timeout: float) -> None:
        """Read URCs for up to ``timeout`` seconds, returning early after the first batch of lines."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self._read_available(deadline)
            for line in lines:
                self._handle(line, None, None, set(), [])
            if lines:
                return

    def clear_prompt(self, quiet: float = 0.1) -> None:
        """ESC: abandon PDU input the modem may still be waiting for (an agent killed between the ``>`` and the
        Ctrl-Z, a lost Ctrl-Z), which would swallow every command as PDU text. A modem at its command line
        ignores it (V.250: whatever precedes "AT" is ignored); the OK of an abandoned prompt is dropped."""
        self._write(ESC, "ESC (clear a pending > prompt)")
        self.drain(quiet=quiet, limit=max(0.5, quiet))

    def drain(self, quiet: float = 0.1, limit: float = 1.0, until_final: bool = False) -> None:
        """Swallow what is still arriving (URCs are dispatched, stray results dropped) until the line is quiet
        for ``quiet`` s, or, with ``until_final``, until a late final result arrived (at most ``limit`` s)."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            wait_until = end if until_final else min(end, time.monotonic() + quiet)
            lines = self._read_available(wait_until, partial_ok=True)
            if not lines and not self._got_bytes:
                if not until_final:
                    return
                continue
            for position, line in enumerate(lines):
                if is_final(line):
                    self.log.debug("dropped a late result %r", line)
                    if until_final:
                        self._lines = lines[position + 1:] + self._lines  # URCs after it still count
                        return
                else:
                    self._handle(line, None, None, set(), [])
        self._reader.clear()

    # internals

    def _collect(self, command: str, deadline: float, prefix: str | None, echoes: set[str]) -> list[str]:
        info: list[str] = []
        while True:
            if self._route(self._next_lines(deadline, command), command, prefix, echoes, info):
                return info

    def _route(self, lines: list[str], command: str, prefix: str | None, echoes: set[str],
               info: list[str]) -> bool:
        """Handle ``lines`` up to the final result; lines after it (URCs) are kept for the next read."""
        for position, line in enumerate(lines):
            try:
                final = self._handle(line, command, prefix, echoes, info)
            except Exception:
                self._lines = lines[position + 1:] + self._lines
                raise
            if final:
                self._lines = lines[position + 1:] + self._lines
                return True
        return False

    def _handle(self, line: str, command: str | None, prefix: str | None, echoes: set[str],
                info: list[str]) -> bool:
        """Route one line; True when it was the final result of ``command`` (raises if it was an error)."""
        if self._two_line is not None:
            header, self._two_line = self._two_line, None
            if is_hex(line):
                self._dispatch(Urc(header.name, header.line, pdu=line.upper()))
                return False
            self.log.warning("URC %r came without its PDU line", header.line)
        if line in echoes:
            return False
        if command is not None and is_final(line):
            if line == "OK":
                return True
            kind, code = cms.parse_error_line(line) or ("error", None)
            raise cms.error_for(kind, code, command)
        urc = parse_urc(line, prefix)
        if urc is not None:
            if urc.needs_pdu:
                self._two_line = urc
            else:
                self._dispatch(urc)
            if urc.name == "RDY" and command is not None:
                raise RestartedMidCommand(f"{command}: the modem restarted ({line}) before answering")
            return False
        if command is None:
            if not is_final(line):
                self.log.debug("unexpected line with no command running: %r", line)
            return False
        if prefix and not line.startswith(prefix) and not is_hex(line):
            # Not this command's answer (a garbled echo, a line of noise): keep it out of the result.
            self.log.debug("%s: dropped unexpected line %r", command, line)
            return False
        info.append(line)
        return False

    def _dispatch(self, urc: Urc) -> None:
        self.log.debug("URC %s", urc.line if urc.pdu is None else f"{urc.line} <PDU>")
        self._on_urc(urc)

    def _next_lines(self, deadline: float, command: str,
                    on_timeout: Callable[[], None] | None = None) -> list[str]:
        lines = self._read_available(deadline)
        if not lines and time.monotonic() >= deadline:
            if self._reader.prompt:  # let the caller take the prompt
                return []
            if on_timeout:
                on_timeout()
            self._out_of_step = True
            raise ModemTimeout(f"{command}: no answer from the modem within the timeout")
        return lines

    def _read_available(self, deadline: float, partial_ok: bool = False) -> list[str]:
        """Wait until bytes arrive or ``deadline``; return the complete lines they finish (maybe none)."""
        if self._lines:
            lines, self._lines = self._lines, []
            self._got_bytes = True
            return lines
        self._got_bytes = False
        remaining = max(0.0, deadline - time.monotonic())
        try:
            ready, _, _ = select.select([self._port.fileno()], [], [], remaining)
            if not ready:
                return []
            data = self._port.read(max(1, self._port.in_waiting))
        except (OSError, ValueError) as exc:
            raise PortError(f"serial port failed while reading: {exc}") from exc
        except Exception as exc:  # pyserial raises SerialException (an OSError on POSIX) and kin
            raise PortError(f"serial port failed while reading: {exc}") from exc
        self._got_bytes = bool(data)
        if not data and not partial_ok:
            raise PortError("serial port reports data but returns none (unplugged, or another process "
                            "such as ModemManager is reading it)")
        self.log.debug("<< %r", data)
        return self._reader.feed(data)

    def _write(self, data: bytes, shown: str) -> None:
        self.log.debug(">> %s", shown)
        try:
            self._port.write(data)
        except Exception as exc:
            raise PortError(f"serial port failed while writing {shown}: {exc}") from exc

    def _resynchronise(self, timeout: float) -> None:
        """After a timeout the late answer may still come: let it, then prove the line is in step with AT."""
        self.drain(limit=timeout, until_final=True)
        self.clear_prompt()  # a silence may mean the modem sits at a > prompt
        self._out_of_step = False
        self._write(b"AT\r", "AT (resync)")
        self._collect("AT", time.monotonic() + timeout, None, {"AT"})
        self.drain(quiet=0.05, limit=0.5)
