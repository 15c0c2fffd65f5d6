"""The SMS subsystem's error tree: every error the codec and the modem layer raise on purpose."""

from evy.errors import EvyError


class SmsError(EvyError):
    """Base class of every SMS error."""


class CodecError(SmsError, ValueError):
    """Text or a PDU cannot be encoded or decoded; the message says which field and why, on one line."""


# --- the modem layer -------------------------------------------------------------------------------------


class ModemError(SmsError):
    """The modem or its port failed; ``transient`` says whether trying again later can help."""

    transient: bool = True

    def __init__(self, message: str, *, transient: bool | None = None):
        super().__init__(message)
        if transient is not None:
            self.transient = transient


class ModemTimeout(ModemError, TimeoutError):
    """The modem did not answer in time (it may be busy, hung or unplugged)."""


class RestartedMidCommand(ModemError):
    """The modem rebooted (RDY) while a command was in flight; the command's outcome is unknown."""


class PortError(ModemError):
    """The serial port cannot be opened or went away (unplugged, USB re-enumeration, wrong path)."""


class PinError(ModemError):
    """The SIM is locked (PIN/PUK) or not usable; never retried, so a wrong PIN cannot PUK-lock the SIM."""

    transient = False


class CmsError(ModemError):
    """``+CMS ERROR`` / ``+CME ERROR`` / ``ERROR`` with ``code`` (None if bare), ``cause`` and ``action``."""

    def __init__(self, kind: str, code: int | None, cause: str, action: str, transient: bool, command: str,
                 category: str = "modem"):
        self.kind, self.code, self.cause, self.action, self.command = kind, code, cause, action, command
        self.category = category  # "network" | "storage" | "sim" | "pin" | "pdu" | "modem" | "recipient"
        label = f"{kind.upper()} ERROR {code}" if code is not None else "ERROR"
        super().__init__(f"{command}: {label}: {cause}; {action}", transient=transient)


class StoredPduError(ModemError):
    """A message in modem storage does not decode; ``pdu`` keeps the raw hex so nothing is lost."""

    transient = False

    def __init__(self, location: int, pdu: str, reason: str):
        self.location, self.pdu = location, pdu
        super().__init__(f"message at storage location {location} does not decode ({reason}); raw PDU {pdu}")
