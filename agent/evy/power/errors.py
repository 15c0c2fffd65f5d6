"""The power subsystem's error tree: every failure of a battery or resource monitor is a :class:`PowerError`.

Reading faults (a malformed sysfs file, an I2C transfer that is not acknowledged) never reach the responder:
:meth:`PowerSource.read` turns them into an "unknown" reading and one warning line. Only opening a source
the config names but the kit cannot provide raises, so `evy power` can say what to fix.
"""

from evy.errors import EvyError


class PowerError(EvyError):
    """A battery or resource monitor could not be used; the message says what to check."""


class PowerUnavailable(PowerError, OSError):
    """The configured source cannot be opened: its library, device node or bus is missing."""


class PowerReadError(PowerError, ValueError):
    """One reading failed or made no sense (a malformed file, an out-of-range register)."""
