"""The root of EVY's error tree.

Every subsystem raises a subclass of :class:`EvyError` whose message is one line a field technician can act
on. The CLI prints it as ``error: <message>`` and exits 2.
"""

from pathlib import Path


class EvyError(Exception):
    """Base class of every error EVY raises on purpose."""


class ConfigError(EvyError, ValueError):
    """The configuration file is unreadable, has an unknown key or a bad value."""


def read_text(path: Path, what: str, error: type[EvyError]) -> str:
    """A UTF-8 file's text, or ``error`` with one line naming the file and ``what`` it was meant to be."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise error(f"{path}: {what} is not UTF-8 text") from None
