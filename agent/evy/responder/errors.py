"""The responders' error tree."""

from evy.errors import EvyError


class ResponderError(EvyError, ValueError):
    """A message cannot be answered as asked (empty text, bad sender)."""
