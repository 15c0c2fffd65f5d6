"""The compressor's error tree."""

from evy.errors import EvyError


class CompressError(EvyError, ValueError):
    """A compression request cannot be met (bad budget) or a data file is broken."""
