"""The simulated modem's AT command table: input split into command lines (and PDUs after a ``>`` prompt),
one ``_at_<name>`` handler per command, answered as a SIM800 or SIM7000 answers in PDU mode.

At the ``>`` prompt of AT+CMGS/AT+CMGW it behaves as the SIM800 and SIM7000 manuals describe: everything
until Ctrl-Z (send/store) or ESC (abandon) is taken as PDU text, so a client that died at the prompt leaves a
modem that swallows every later command. The manuals give no prompt timeout (their 60 s "max response time"
counts from Ctrl-Z), and field reports show modems waiting there until power-cycled: ``prompt_timeout`` is
None by default; set it to model a modem that gives up (it then answers ERROR).
"""

from __future__ import annotations

import re
import time

from evy.sms import pdu as pdu_codec
from evy.sms.at_lines import parse_ranges
from evy.sms.errors import CodecError
from evy.sms.message import Submit
from evy.sms.simulator.network import NetworkSide
from evy.sms.simulator.state import MODELS, Pending, Slot, log

_COMMAND = re.compile(r"^AT(?:([&+*#][A-Z]+|[A-Z&])(\d*))?(.*)$", re.IGNORECASE)


class AtCommands(NetworkSide):
    """Input and the AT command handlers (called by the pty thread with the lock held)."""

    # --- input

    def _receive_failed(self, data: bytes) -> None:
        self._inbuf.clear()
        self._cmgs = None
        self._answer([], "ERROR")

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
        self._cmgs = pending = Pending(length)
        self._emit_raw(b"\r\n> ", self.response_delay)
        if self.prompt_timeout is not None:
            self._timers.append((time.monotonic() + self.prompt_timeout, lambda: self._prompt_expired(pending)))
        if self._held and self._held_after_prompt:
            self._emit_raw("".join(f"\r\n{line}\r\n" for line in self._held).encode("ascii"))
            self._held, self._hold_urcs, self._held_after_prompt = [], False, False

    def _prompt_expired(self, pending: Pending) -> None:
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
        self.memories[self._state.write_storage][index] = Slot(2, hex_text.upper())
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

    def _submit(self, length: int, hex_text: str, stored: Slot | None = None) -> None:
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
        self._send(submit, hex_text, stored)


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None
