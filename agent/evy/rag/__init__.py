"""Retrieval over the shipped emergency knowledge base: SQLite FTS5 + sqlite-vec, fused by rank.

``open_index(config)`` returns an :class:`Index` (building it first if missing or stale) or None,
logged, when retrieval is disabled or unusable; ``Index.search(query, k, language)`` returns
:class:`Passage` objects with ``text``, ``source`` and ``score``.
"""

from evy.rag.errors import KnowledgeBaseError, RagError, SqliteExtensionError
from evy.rag.index import BuildReport, Index, Passage, build, index_path, open_index

__all__ = ["BuildReport", "Index", "KnowledgeBaseError", "Passage", "RagError", "SqliteExtensionError",
           "build", "index_path", "open_index"]
