"""Triage's error tree."""

from evy.errors import EvyError


class RouterError(EvyError):
    """Base class of every triage error."""


class LexiconError(RouterError, ValueError):
    """A language data file is missing, not TOML, or names an unknown category or topic field."""
