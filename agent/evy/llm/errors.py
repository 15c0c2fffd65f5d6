"""The local-model error tree: every failure of the LLM side is an :class:`LlmError`.

The responder catches :class:`LlmError` and keeps the template answer; the messages are one line a field
technician can act on (which file, which model, what to run).
"""

from evy.errors import EvyError


class LlmError(EvyError):
    """The local model could not answer (timeout, crash, bad model file, bad lockfile)."""


class LlmTimeout(LlmError, TimeoutError):
    """The deadline passed before the answer was complete; ``partial`` holds what had been generated."""

    def __init__(self, message: str, partial: str = ""):
        super().__init__(message)
        self.partial = partial


class LockfileError(LlmError, ValueError):
    """models.lock is unreadable or an entry is malformed; the message names the key path."""


class ModelError(LlmError):
    """A pinned model file is missing, does not match models.lock, or cannot be loaded."""


class ModelMissing(ModelError, FileNotFoundError):
    """The model file pinned in models.lock is not where its source says it is."""


class ModelMismatch(ModelError):
    """The model file exists but its size or sha256 differs from models.lock."""
