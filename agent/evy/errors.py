"""The root of EVY's error tree.

Every subsystem raises a subclass of :class:`EvyError` whose message is one line a field technician can act
on. The CLI prints it as ``error: <message>`` and exits 2.
"""


class EvyError(Exception):
    """Base class of every error EVY raises on purpose."""


class ConfigError(EvyError, ValueError):
    """The configuration file is unreadable, has an unknown key or a bad value."""
