"""The mesh layer's error tree: every error is an :class:`~evy.errors.EvyError` with a one-line message."""

from evy.errors import EvyError


class MeshError(EvyError):
    """Anything the mesh layer refuses or cannot do."""


class KeyFileError(MeshError, ValueError):
    """The network key file is missing, unreadable or not a 128-bit key; the kit will not join the mesh."""


class FrameError(MeshError, ValueError):
    """A received frame is rejected; subclasses say why."""


class MalformedFrame(FrameError):
    """The bytes are not a frame of this protocol (too short, too long, bad version or field)."""


class ForeignNetwork(FrameError):
    """The frame carries another network's id hash: not ours to decrypt."""


class ForgedFrame(FrameError):
    """Authentication failed: wrong key, a forged or a corrupted frame."""


class ReplayedFrame(FrameError):
    """The frame authenticates but its (source, packet id) was accepted before or is older than the window."""


class PayloadTooLarge(MeshError, ValueError):
    """A message does not fit even after fragmentation."""


class AirtimeError(MeshError, ValueError):
    """Radio parameters out of range for a time-on-air calculation."""


class DutyCycleExceeded(MeshError):
    """Transmitting now would break the region's duty-cycle or dwell-time rule."""


class RadioError(MeshError, OSError):
    """The radio hardware (or its twin) failed or is in the wrong state."""


class RadioTimeout(RadioError, TimeoutError):
    """The radio did not signal completion in time."""
