"""The HIL harness's own error tree: one line a lab technician can act on, naming the step that failed."""

from __future__ import annotations

from evy.errors import EvyError


class HilError(EvyError):
    """Base class of every error the HIL harness raises on purpose."""


class ImageError(HilError, ValueError):
    """The image (or a card written from it) is not what the harness expects: no MBR, no boot partition."""


class BootMediaError(HilError):
    """Switching, writing or reading the boot medium (SD card or QEMU disk) failed."""


class PhoneError(HilError):
    """'The phone' (simulated or a real second modem) could not send or receive."""


class PhoneTimeout(PhoneError, TimeoutError):
    """The expected SMS did not arrive in time."""


class SeedError(HilError, ValueError):
    """The per-kit seed the harness was given is incomplete or malformed."""
