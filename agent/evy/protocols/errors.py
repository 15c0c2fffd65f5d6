"""The protocol library's error tree."""

from evy.errors import EvyError


class ProtocolError(EvyError, LookupError):
    """A protocol data file is broken, or a protocol that must exist does not."""
