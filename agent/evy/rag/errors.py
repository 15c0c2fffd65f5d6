"""The knowledge-base error tree."""

from evy.errors import EvyError


class RagError(EvyError):
    """The knowledge base or its index cannot be built, opened or searched."""


class KnowledgeBaseError(RagError, ValueError):
    """A knowledge-base data file is malformed; the message names the file and line."""


class SqliteExtensionError(RagError):
    """No SQLite binding here can load sqlite-vec (or FTS5 is missing)."""
