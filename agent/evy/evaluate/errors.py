"""The evaluation's error tree: one-line messages naming the file, the message and the key."""

from evy.errors import EvyError


class EvalError(EvyError):
    """The evaluation cannot run (no eval set, bad options)."""


class EvalSetError(EvalError, ValueError):
    """The eval set file is unreadable or malformed; the message names the message id and the key."""
