"""The python-gammu driver: the same Modem interface over ``gammu.StateMachine``.

Gammu has no dependable incoming-message callback (python-gammu #9, #33), so new messages are found by
polling storage every ``modem.poll_interval`` seconds. Gammu hands over decoded messages, not raw PDUs:
``StoredMessage.pdu`` is re-encoded from Gammu's fields with EVY's codec. Known Gammu limits stay visible:
GSM-7 extension characters (€ [ ] { } ~ | ^ \\) leave junk at the end of a decoded text (gammu sms.c).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from evy.sms import pdu as pdu_codec
from evy.sms.errors import CodecError, ModemError, ModemTimeout, PinError, PortError
from evy.sms.message import Concat, Deliver, Encoding, StatusReport, Submit
from evy.sms.modem import (
    REJECTED_PINS,
    Modem,
    ModemEvent,
    ModemSettings,
    NewMessage,
    StatusReportEvent,
    StoredMessage,
)

CODINGS = {"Default_No_Compression": Encoding.GSM7, "Unicode_No_Compression": Encoding.UCS2,
           "8bit": Encoding.BIT8}
GAMMU_CODING = {Encoding.GSM7: "Default_No_Compression", Encoding.UCS2: "Unicode_No_Compression",
                Encoding.BIT8: "8bit"}
_TIMEOUT_ERRORS = ("ERR_TIMEOUT",)
_PORT_ERRORS = ("ERR_DEVICEOPENERROR", "ERR_DEVICENOTEXIST", "ERR_DEVICEBUSY", "ERR_DEVICENOPERMISSION",
                "ERR_DEVICELOCKED", "ERR_DEVICEREADERROR", "ERR_DEVICEWRITEERROR", "ERR_DEVICECHANGESPEEDERROR",
                "ERR_NODEVICE")
_PIN_ERRORS = ("ERR_SECURITYERROR", "ERR_NOSIM")


class GammuModem(Modem):
    _poll_blocks = False

    def __init__(self, settings: ModemSettings, **kwargs: Any):
        super().__init__(settings, **kwargs)
        self._machine: Any = None
        self._announced: set[int] = set()
        self._last_poll = 0.0
        self.last_sent: dict[str, Any] | None = None  # the SMS dict of the last SendSMS, for diagnostics

    def describe(self) -> str:
        source = self.settings.gammu_config or f"{self.settings.port} at {self.settings.baud} baud"
        return f"python-gammu ({source})"

    # --- lifecycle

    def _open(self) -> None:
        gammu = _import_gammu()
        machine = gammu.StateMachine()
        with self._gammu_errors("configure Gammu"):
            if self.settings.gammu_config:
                machine.ReadConfig(Filename=self.settings.gammu_config)
            else:
                machine.SetConfig(0, {"Device": self.settings.port, "Connection": f"at{self.settings.baud}",
                                      "Model": "", "SyncTime": False, "LockDevice": False,
                                      "StartInfo": False, "UseGlobalDebugFile": False})
        with self._gammu_errors("initialise the modem"):
            machine.Init()
        self._machine = machine
        self._unlock_sim()
        self._announced = set()
        self._announced.update(m.location for m in self._list_stored())

    def _close(self) -> None:
        machine, self._machine = self._machine, None
        if machine is not None:
            try:
                machine.Terminate()
            except Exception as exc:  # already gone: nothing left to close
                self.log.debug("Terminate: %s", exc)

    def _unlock_sim(self) -> None:
        with self._gammu_errors("read the SIM state"):
            state = self._machine.GetSecurityStatus()
        if state is None:
            return
        if state == "PIN" and self.settings.pin:
            key = (self.settings.gammu_config or self.settings.port, self.settings.pin)
            if key in REJECTED_PINS:
                raise PinError("the SIM refused modem.pin earlier in this run; it is not entered again: "
                               "fix modem.pin and restart")
            self.log.info("entering the SIM PIN (once)")
            try:
                self._machine.EnterSecurityCode(Type="PIN", Code=self.settings.pin)
            except Exception as exc:
                REJECTED_PINS.add(key)
                raise PinError(f"the SIM refused modem.pin ({_gammu_text(exc)}); fix modem.pin - it is not "
                               "retried, so the SIM cannot get PUK-locked") from exc
            return
        if state == "PIN":
            raise PinError("the SIM asks for its PIN: set modem.pin")
        raise PinError(f"the SIM is locked ({state}): unlock it in a phone, then restart")

    # --- operations

    def _list_stored(self) -> list[StoredMessage]:
        """Received messages in storage; stored delivery reports are queued as events (as the AT driver)."""
        stored = []
        for entry in self._all_entries():
            message = self._convert(entry)
            if isinstance(message, StoredMessage):
                stored.append(message)
            elif isinstance(message, StatusReport) and int(entry["Location"]) not in self._announced:
                self._announced.add(int(entry["Location"]))
                self._pending.append(StatusReportEvent(message, int(entry["Location"]), _report_pdu(message)))
        return sorted(stored, key=lambda m: m.location)

    def _read(self, location: int) -> StoredMessage | None:
        gammu = _import_gammu()
        try:
            entries = self._machine.GetSMS(Folder=0, Location=location)
        except gammu.ERR_EMPTY:
            return None
        except gammu.GSMError as exc:
            if type(exc).__name__ in ("ERR_INVALIDLOCATION",):
                return None
            raise _mapped(exc, f"read message {location}") from exc
        for entry in entries:
            message = self._convert(entry)
            return message if isinstance(message, StoredMessage) else None
        return None

    def _delete(self, location: int) -> None:
        gammu = _import_gammu()
        try:
            self._machine.DeleteSMS(Folder=0, Location=location)
        except gammu.ERR_EMPTY:
            pass  # already gone: deleting is idempotent
        except gammu.GSMError as exc:
            raise _mapped(exc, f"delete message {location}") from exc
        self._announced.discard(location)

    def _send(self, part: Any) -> int:
        sms = submit_dict(part.message, self.settings.smsc)
        self.last_sent = sms
        with self._gammu_errors("send"):
            reference = self._machine.SendSMS(sms)
        return int(reference) & 0xFF

    def _poll(self, timeout: float) -> list[ModemEvent]:
        if time.monotonic() < self._last_poll + self.settings.poll_interval:
            return []
        self._last_poll = time.monotonic()
        events: list[ModemEvent] = []
        seen = set()
        for entry in self._all_entries():
            location = int(entry["Location"])
            seen.add(location)
            if location in self._announced:
                continue
            self._announced.add(location)
            message = self._convert(entry)
            if isinstance(message, StoredMessage):
                events.append(NewMessage(location))
            elif isinstance(message, StatusReport):
                events.append(StatusReportEvent(message, location, _report_pdu(message)))
        self._announced &= seen
        return events

    def _rescan(self, everything: bool = False) -> list[ModemEvent]:
        """Every heartbeat, forget what was announced: whatever is still stored (not yet handled and
        deleted) is announced again by the next poll, so nothing waits forever on the SIM."""
        self._announced.clear()
        return []

    def _poll_slice(self) -> float:
        return max(0.01, self._last_poll + self.settings.poll_interval - time.monotonic())

    def _heartbeat(self) -> dict[str, Any]:
        with self._gammu_errors("read the signal quality"):
            quality = self._machine.GetSignalQuality()
        with self._gammu_errors("read the network state"):
            network = self._machine.GetNetworkInfo()
        registered = network.get("State") in ("HomeNetwork", "RoamingNetwork")
        return {"state": "ready" if registered else "not-registered", "signal": _rssi(quality),
                "registered": registered, "operator": network.get("NetworkName") or None}

    # --- helpers

    def _all_entries(self) -> list[dict[str, Any]]:
        gammu = _import_gammu()
        entries: list[dict[str, Any]] = []
        location = None
        while True:
            try:
                if location is None:
                    batch = self._machine.GetNextSMS(Start=True, Folder=0)
                else:
                    batch = self._machine.GetNextSMS(Location=location, Folder=0)
            except gammu.ERR_EMPTY:
                return entries
            except gammu.GSMError as exc:
                raise _mapped(exc, "list stored messages") from exc
            if not batch:
                return entries
            entries.extend(batch)
            location = batch[0]["Location"]

    def _convert(self, entry: dict[str, Any]) -> StoredMessage | StatusReport | None:
        location = int(entry["Location"])
        kind = entry.get("Type")
        if kind == "Status_Report":
            return StatusReport(recipient=entry.get("Number", ""), reference=int(entry.get("MessageReference", 0)),
                                status=int(entry.get("DeliveryStatus", 0)), timestamp=_aware(entry.get("DateTime")),
                                discharge_time=_aware(entry.get("SMSCDateTime")),
                                smsc=(entry.get("SMSC") or {}).get("Number") or None)
        if kind != "Deliver":
            return None
        message = deliver_from_gammu(entry)
        try:
            pdu = pdu_codec.encode_deliver(message)
        except CodecError as exc:
            self.log.error("message %d from Gammu cannot be re-encoded (%s); kept as text only", location, exc)
            pdu = ""
        return StoredMessage(location, message, pdu)

    def _gammu_errors(self, what: str) -> _GammuErrors:
        return _GammuErrors(what)


class _GammuErrors:
    """``with`` block turning Gammu's exceptions into EVY's modem errors."""

    def __init__(self, what: str):
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> bool:
        if exc is None:
            return False
        gammu = _import_gammu()
        if isinstance(exc, gammu.GSMError):
            raise _mapped(exc, self.what) from exc
        return False


def _import_gammu() -> Any:
    try:
        import gammu
    except ImportError as exc:
        raise ModemError("modem.backend is gammu but python-gammu is not installed (pip install "
                         "python-gammu)", transient=False) from exc
    return gammu


def _gammu_text(exc: BaseException) -> str:
    info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    return f"{info.get('Text', exc)} ({type(exc).__name__})"


def _mapped(exc: BaseException, what: str) -> ModemError:
    name = type(exc).__name__
    text = f"gammu could not {what}: {_gammu_text(exc)}"
    if name in _TIMEOUT_ERRORS:
        return ModemTimeout(text)
    if name in _PORT_ERRORS:
        return PortError(text + " (check modem.port / modem.gammu_config and that nothing else holds the port)")
    if name in _PIN_ERRORS:
        return PinError(text)
    return ModemError(text, transient=name not in ("ERR_NOTSUPPORTED", "ERR_NOTIMPLEMENTED", "ERR_UNKNOWN"))


def _rssi(quality: dict[str, Any]) -> int | None:
    """Gammu's dBm (or percent) as the 0-31 CSQ scale the interface reports."""
    dbm = quality.get("SignalStrength", -1)
    if isinstance(dbm, int) and -113 <= dbm < -1:  # -1: unknown
        return max(0, min(31, (dbm + 113) // 2))
    percent = quality.get("SignalPercent", -1)
    if isinstance(percent, int) and 0 <= percent <= 100:
        return round(percent * 31 / 100)
    return None


def _report_pdu(report: StatusReport) -> str:
    """Gammu gives no raw PDU: re-encode the report so the pipeline keeps the same kind of record."""
    try:
        return pdu_codec.encode_status_report(report)
    except CodecError:
        return ""


def _aware(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


def deliver_from_gammu(entry: dict[str, Any]) -> Deliver:
    """A Gammu SMS dict of type Deliver as EVY's Deliver."""
    udh = entry.get("UDH") or {}
    concat = None
    if udh.get("AllParts", -1) > 1 and udh.get("PartNumber", -1) >= 1:
        sixteen = udh.get("ID16bit", -1) >= 0
        concat = Concat(ref=udh["ID16bit"] if sixteen else max(0, udh.get("ID8bit", 0)), total=udh["AllParts"],
                        seq=udh["PartNumber"], ref_bits=16 if sixteen else 8)
    encoding = CODINGS.get(entry.get("Coding", ""), Encoding.GSM7)
    text = entry.get("Text") or ""
    data = b""
    if encoding is Encoding.BIT8:
        data = text if isinstance(text, bytes) else text.encode("latin-1", "replace")
        text = data.decode("latin-1")
    return Deliver(sender=entry.get("Number", ""), text=text, encoding=encoding,
                   timestamp=_aware(entry.get("DateTime")), smsc=(entry.get("SMSC") or {}).get("Number") or None,
                   concat=concat, data=data)


def submit_dict(message: Submit, smsc: str | None = None) -> dict[str, Any]:
    """The Gammu SMS dict for one SMS-SUBMIT part (what ``StateMachine.SendSMS`` takes)."""
    sms: dict[str, Any] = {
        "Number": message.recipient,
        "SMSC": {"Number": message.smsc or smsc} if (message.smsc or smsc) else {"Location": 1},
        "Coding": GAMMU_CODING[Encoding(message.encoding)],
        "Text": message.data if message.encoding == Encoding.BIT8 and message.data else message.text,
        "Class": -1,
        "DeliveryReport": "Yes" if message.request_status_report else "Default",
        # The rest only matters to gammu.EncodePDU, which wants a complete dict.
        "Folder": 0, "Location": 0, "State": "UnSent", "Type": "Submit", "InboxFolder": 0, "Memory": "",
        "Name": "", "MessageReference": message.reference, "ReplaceMessage": 0, "RejectDuplicates": False,
    }
    if message.concat is not None:
        from evy.sms import udh

        header = udh.encode(message.concat)
        sixteen = message.concat.ref_bits == 16
        sms["UDH"] = {"Type": "ConcatenatedMessages16bit" if sixteen else "ConcatenatedMessages",
                      "Text": header, "ID8bit": -1 if sixteen else message.concat.ref,
                      "ID16bit": message.concat.ref if sixteen else -1,
                      "PartNumber": message.concat.seq, "AllParts": message.concat.total}
    return sms
