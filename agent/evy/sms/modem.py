"""The one small interface every modem transport provides, and the base class that holds what they share:
lifecycle checks, retries with backoff for transient errors, logging, and the idle watchdog.

The pipeline talks only to :class:`Modem`; drivers (``at_modem``, ``gammu_modem``) fill the ``_hooks``.
All public methods are serialised by one lock, so a sender thread and the event loop may share a modem.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Self, TypeVar

from evy import backends
from evy.config.schema import defaults_from
from evy.sms import settings as sms_settings
from evy.sms.errors import CmsError, ModemError, ModemTimeout, PinError, PortError
from evy.sms.message import Deliver, StatusReport

log = logging.getLogger("evy.sms.modem")
T = TypeVar("T")

# (port or gammu config, PIN) pairs a SIM refused in this process: no driver enters them again, whoever
# calls open() next, so a restart loop cannot PUK-lock the SIM.
REJECTED_PINS: set[tuple[str, str]] = set()


# --- values crossing the interface ----------------------------------------------------------------------


@dataclass(frozen=True)
class StoredMessage:
    """An inbound PDU still stored on the SIM/modem."""

    location: int  # index in modem storage (for delete)
    message: Deliver  # decoded
    pdu: str  # raw hex as read (kept so the store can re-decode)


@dataclass(frozen=True)
class ModemStatus:
    state: str  # "ready" | "not-registered" | "sim-locked" | "resetting" | "down"
    signal: int | None  # CSQ rssi 0-31 or None
    registered: bool
    operator: str | None
    last_error: str | None


@dataclass(frozen=True)
class NewMessage:
    """+CMTI: a message was stored at ``location``; ``read`` it, keep it durably, then ``delete`` it."""

    location: int


@dataclass(frozen=True)
class InlineMessage:
    """+CMT: the modem pushed a message without storing it (nothing to delete; keep it durably at once)."""

    message: Deliver
    pdu: str


@dataclass(frozen=True)
class StatusReportEvent:
    """+CDS (inline, ``location`` None) or +CDSI / a report found in storage (``delete`` it once stored)."""

    report: StatusReport
    location: int | None
    pdu: str = ""


@dataclass(frozen=True)
class ModemRestarted:
    """The modem rebooted or was reset and re-initialised: messages may have arrived meanwhile, so the
    pipeline should re-read the backlog with ``list_stored``. Sends in flight at that moment failed."""

    reason: str


@dataclass(frozen=True)
class StorageFull:
    """Message storage is full, so the network holds new messages back: process and delete the backlog."""

    used: int
    total: int


@dataclass(frozen=True)
class UnreadableMessage:
    """A PDU that does not decode (found in storage, or pushed with +CMT/+CDS): keep ``pdu`` somewhere
    durable, then ``delete`` its location, so it neither fills the SIM nor is lost. ``location`` is None for
    a pushed one (nothing to delete; ``delete(None)`` does nothing)."""

    location: int | None
    pdu: str
    reason: str


ModemEvent = NewMessage | InlineMessage | StatusReportEvent | ModemRestarted | StorageFull | UnreadableMessage


# --- settings ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
@defaults_from(sms_settings.SETTINGS, "modem")
class ModemSettings:
    """The ``modem.*`` settings a driver needs (built from the config, or directly in tests); the defaults
    are the settings table's."""

    backend: str
    port: str
    baud: int
    profile: str
    pin: str | None
    storage: str | None
    cnmi: str | None
    command_timeout: float
    send_timeout: float
    heartbeat: float
    max_failed_heartbeats: int
    status_reports: bool
    smsc: str | None
    gammu_config: str | None
    retries: int
    retry_backoff: float
    probe_attempts: int
    poll_interval: float
    sweep_interval: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | Any) -> ModemSettings:
        """Read every ``modem.<field>`` present in ``config`` (a Config or a plain dict of dotted keys)."""
        values = {}
        for name in cls.__dataclass_fields__:
            try:
                value = config[f"modem.{name}"]
            except KeyError:
                continue
            values[name] = str(value) if name == "gammu_config" and value is not None else value
        return cls(**values)

    def with_changes(self, **changes: Any) -> ModemSettings:
        return replace(self, **changes)


# --- the interface and its shared base --------------------------------------------------------------------


class Modem(ABC):
    """A GSM modem seen by the pipeline. Construct cheaply (no I/O), then ``open`` or use ``with``."""

    _poll_blocks = True  # ``_poll`` waits for input itself; False: it only checks, the base sleeps between

    def __init__(self, settings: ModemSettings, *, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self._clock = clock
        self._lock = threading.RLock()
        self._opened = False
        self._status = ModemStatus("down", None, False, None, None)
        self._pending: list[ModemEvent] = []
        self._failed_heartbeats = 0
        self._last_heartbeat = 0.0
        self._last_sweep = 0.0
        self._restart_reason: str | None = None  # set by a driver that saw the modem reboot by itself
        self.log = logging.getLogger(f"evy.sms.{type(self).__name__}")

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | Any) -> Self:
        """This driver for the ``modem.*`` settings in ``config`` (a Config, a dict or ModemSettings)."""
        return cls(config if isinstance(config, ModemSettings) else ModemSettings.from_config(config))

    # lifecycle

    def open(self) -> None:
        """Probe and initialise the modem. Raises PinError (never retried) or ModemError."""
        with self._lock:
            if self._opened:
                return
            self.log.info("opening modem (%s)", self.describe())
            self._pending = []  # events of an earlier session are stale: the backlog is read afresh
            self._restart_reason = None
            try:
                self._open()
            except PinError as exc:
                self._set_status(state="sim-locked", last_error=str(exc))
                self._safe_close()
                raise
            except ModemError as exc:
                self._set_status(state="down", last_error=str(exc))
                self._safe_close()
                raise
            self._opened = True
            self._failed_heartbeats = 0
            self._last_heartbeat = self._last_sweep = self._clock()
            self._refresh_status()
            self.log.info("modem ready: %s", self._status)

    def close(self) -> None:
        with self._lock:
            if self._opened:
                self.log.info("closing modem")
            self._opened = False
            self._safe_close()
            self._set_status(state="down")

    def __enter__(self) -> Modem:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def is_open(self) -> bool:
        return self._opened

    # the operations

    def list_stored(self) -> list[StoredMessage]:
        """Every received message in storage (the backlog); stored status reports become events."""
        return self._call("list stored messages", self._list_stored)

    def read(self, location: int) -> StoredMessage | None:
        """The message at ``location``; None if the slot is empty (or holds a report, queued as an event)."""
        return self._call(f"read message {location}", lambda: self._read(location))

    def delete(self, location: int | None) -> None:
        """Free a storage slot (deleting an empty slot is harmless; None, a pushed message, does nothing)."""
        if location is None:
            return
        self._call(f"delete message {location}", lambda: self._delete(location))

    def send(self, part: Any) -> int:
        """Send one SMS-SUBMIT part (``evy.sms.pdu.SubmitPart``); returns the TP-MR message reference.

        Only errors that prove nothing left the modem are retried here; a timeout is raised, never re-sent,
        because the part may have gone out (the outbox decides).
        """
        return self._call("send", lambda: self._send(part), retry_if=_safe_to_resend)

    # stored sending: write a part to modem storage, then send it from there. After a crash the slot's
    # STO SENT / STO UNSENT flag tells whether the part left, so the pipeline sends it exactly once.
    supports_stored_send = False

    def store_outgoing(self, part: Any) -> int:
        """AT+CMGW: keep a SUBMIT part in storage (unsent); returns its location. A timeout is raised, not
        retried: the part may have been stored all the same, and the caller frees such unrecorded slots."""
        return self._call("store outgoing", lambda: self._store_outgoing(part),
                          retry_if=lambda exc: exc.transient and not isinstance(exc, ModemTimeout)
                          and getattr(exc, "code", None) != 322)

    def send_stored(self, location: int) -> int:
        """AT+CMSS: send the part at ``location``; returns the TP-MR. Retried only when nothing left."""
        return self._call(f"send stored {location}", lambda: self._send_stored(location),
                          retry_if=_safe_to_resend)

    def outgoing_state(self, location: int) -> str | None:
        """'sent', 'unsent', or None for an empty slot (or one holding something else)."""
        return self._call(f"check stored {location}", lambda: self._outgoing_state(location))

    def list_unsent(self) -> list[int]:
        """Locations of stored, unsent SUBMIT parts (AT+CMGL=2)."""
        return self._call("list unsent", self._list_unsent)

    def list_sent(self) -> list[int]:
        """Locations of stored SUBMIT parts already sent (AT+CMGL=3)."""
        return self._call("list sent", self._list_sent)

    def status(self) -> ModemStatus:
        """The state as of the last check (open, heartbeat, error); no I/O and no lock (an immutable value),
        so other threads can read it while ``wait_events`` holds the port."""
        return self._status

    def wait_events(self, timeout: float) -> list[ModemEvent]:
        """Block up to ``timeout`` s for events; run the watchdog while idle (it may reset the modem), and
        sweep the storage every ``sweep_interval`` s, busy or not."""
        deadline = self._clock() + max(0.0, timeout)
        while True:
            with self._lock:
                self._require_open()
                self._check_restart()
                if self._clock() - self._last_sweep >= self.settings.sweep_interval:
                    self._sweep()
                if self._pending:
                    events, self._pending = self._pending, []
                    return events
                if self._clock() - self._last_heartbeat >= self.settings.heartbeat:
                    self._watchdog()
                    if self._pending:
                        continue
                remaining = deadline - self._clock()
                if remaining <= 0:
                    return []
                next_beat = self._last_heartbeat + self.settings.heartbeat - self._clock()
                slice_ = max(0.0, min(remaining, next_beat, self._poll_slice()))
                polling = self._status.state in ("ready", "not-registered")
                if polling:
                    try:
                        self._pending.extend(self._poll(slice_))
                    except PinError:
                        raise
                    except PortError as exc:  # the port itself failed: re-open it now
                        self._note_failure(exc)
                        self._watchdog(force=True)
                    except ModemError as exc:  # e.g. reading an announced report failed: log, go on
                        self._note_failure(exc)
                        self.log.warning("while waiting for events: %s", exc)
                    if self._poll_blocks or self._pending:
                        continue
            # Nothing blocked above (modem down, or a polling backend): wait without holding the lock.
            time.sleep(min(slice_, 0.2))

    # the storage sweep and the watchdog

    def _sweep(self) -> None:
        """Announce every received message still in storage. Modems drop new-message indications (during a
        command, after a brown-out, on a busy line), and the idle watchdog's rescan never runs while events
        keep coming, so this runs on its own clock; announcing a message twice is harmless (the second read
        finds its slot empty, or the store already has it)."""
        self._last_sweep = self._clock()
        if self._status.state not in ("ready", "not-registered"):
            return
        try:
            self._pending.extend(self._rescan(everything=True))
        except PinError:
            raise
        except ModemError as exc:
            self._note_failure(exc)
            self.log.warning("sweeping the message storage failed: %s", exc)

    def _watchdog(self, force: bool = False) -> None:
        self._last_heartbeat = self._clock()
        if not force and self._status.state in ("ready", "not-registered"):
            try:
                self._set_status(**self._heartbeat())
                self._failed_heartbeats = 0
                self._pending.extend(self._rescan())
                return
            except PinError:
                raise
            except ModemError as exc:
                self._failed_heartbeats += 1
                self._note_failure(exc)
                self.log.warning("heartbeat %d/%d failed: %s", self._failed_heartbeats,
                                 self.settings.max_failed_heartbeats, exc)
                if self._failed_heartbeats < self.settings.max_failed_heartbeats:
                    return
        self._reset("the modem stopped answering" if not force else "the port failed")

    def _reset(self, reason: str, rebooted: bool = False) -> None:
        self.log.warning("%s the modem: %s", "re-initialising" if rebooted else "resetting", reason)
        self._set_status(state="resetting")
        try:
            self._reinitialise(rebooted)
        except PinError as exc:
            self._set_status(state="sim-locked", last_error=str(exc))
            raise
        except ModemError as exc:
            self._set_status(state="down", last_error=f"reset failed: {exc}")
            self.log.error("modem reset failed (next try in %.0f s): %s", self.settings.heartbeat, exc)
            return
        self._failed_heartbeats = 0
        self._refresh_status()
        self._pending.append(ModemRestarted(reason))
        self.log.info("modem reset and re-initialised")

    def _mark_restarted(self, reason: str) -> None:
        """Drivers call this when they see the modem reboot by itself; it is re-initialised before the next
        operation and the pipeline gets a ModemRestarted event."""
        self._restart_reason = reason

    def _check_restart(self) -> None:
        if self._restart_reason is not None:
            reason, self._restart_reason = self._restart_reason, None
            self._reset(reason, rebooted=True)

    # shared plumbing

    def _call(self, what: str, action: Callable[[], T],
              retry_if: Callable[[ModemError], bool] | None = None) -> T:
        retry_if = retry_if or (lambda exc: exc.transient)
        attempts = max(1, self.settings.retries)
        with self._lock:
            self._require_open()
            for attempt in range(1, attempts + 1):
                try:
                    self._check_restart()
                    return action()
                except ModemError as exc:
                    self._note_failure(exc)
                    if attempt == attempts or not retry_if(exc):
                        raise
                    delay = self.settings.retry_backoff * 2 ** (attempt - 1)
                    self.log.info("%s failed (%s); attempt %d/%d in %.2f s", what, exc, attempt + 1, attempts,
                                  delay)
                    time.sleep(delay)
        raise AssertionError("unreachable")

    def _require_open(self) -> None:
        if not self._opened:
            raise ModemError("the modem is not open (call open() first)", transient=False)

    def _note_failure(self, exc: ModemError) -> None:
        self._set_status(last_error=str(exc))

    def _set_status(self, **changes: Any) -> None:
        self._status = replace(self._status, **changes)

    def _refresh_status(self) -> None:
        try:
            self._set_status(**self._heartbeat())
        except ModemError as exc:
            self._note_failure(exc)

    def _safe_close(self) -> None:
        try:
            self._close()
        except Exception as exc:  # closing must never fail the caller
            self.log.debug("close: %s", exc)

    def _poll_slice(self) -> float:
        return 0.05

    # hooks for drivers

    def describe(self) -> str:
        return type(self).__name__

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _close(self) -> None: ...

    def _reinitialise(self, rebooted: bool) -> None:
        """Bring a silent (``rebooted`` False) or self-rebooted modem back; by default re-open the driver."""
        self._safe_close()
        self._open()

    @abstractmethod
    def _list_stored(self) -> list[StoredMessage]: ...

    @abstractmethod
    def _read(self, location: int) -> StoredMessage | None: ...

    @abstractmethod
    def _delete(self, location: int) -> None: ...

    @abstractmethod
    def _send(self, part: Any) -> int: ...

    def _no_stored_sending(self, *_: Any) -> Any:
        raise ModemError(f"{self.describe()} has no stored sending", transient=False)

    _store_outgoing = _send_stored = _outgoing_state = _no_stored_sending

    def _list_unsent(self) -> list[int]:
        return []

    def _list_sent(self) -> list[int]:
        return []

    @abstractmethod
    def _poll(self, timeout: float) -> list[ModemEvent]:
        """Wait up to ``timeout`` for unsolicited events (returns early when one arrives)."""

    def _rescan(self, everything: bool = False) -> list[ModemEvent]:
        """Events for stored messages whose indication was lost: after a good heartbeat (quiet line; drivers
        may skip the listing when storage looks empty) or, with ``everything``, a full sweep (default none)."""
        return []

    @abstractmethod
    def _heartbeat(self) -> dict[str, Any]:
        """Check the modem answers; return ModemStatus fields (state, signal, registered, operator)."""


def _safe_to_resend(exc: ModemError) -> bool:
    """An error that proves the part never left: the SIM was busy before the PDU was taken."""
    return isinstance(exc, CmsError) and exc.transient and exc.category == "sim"


# --- choosing a backend (the drivers are named in evy.backends, never here) --------------------------------


def make_modem(config: Mapping[str, Any] | Any) -> Modem:
    """The driver ``modem.backend`` names, constructed but not opened (gammu is imported only if chosen)."""
    settings = config if isinstance(config, ModemSettings) else ModemSettings.from_config(config)
    return backends.backend_class("modem", settings.backend).from_config(settings)


def open_modem(config: Mapping[str, Any] | Any) -> Modem:
    """The configured modem, opened and ready."""
    modem = make_modem(config)
    modem.open()
    return modem
