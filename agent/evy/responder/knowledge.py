"""The brain's access to the knowledge base (evy.rag) and the local model (evy.llm), opened lazily.

Opening may be slow the first time (the index is built and embedded at first start, the model loads), so it
runs in a background thread: a follow-up waits for it only until its own deadline and otherwise gives up,
leaving the template answer to stand; the next follow-up finds everything ready.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

log = logging.getLogger(__name__)
# A big node opens a second Knowledge (its offload model) beside the brain's: one builds a missing index,
# the other then finds it fresh instead of building the same file at the same time.
_OPENING = threading.Lock()


class PassageLike(Protocol):
    text: str
    source: str
    score: float
    language: str


class Knowledge:
    """Retrieval and generation behind one small interface; every failure is logged and becomes 'nothing'."""

    def __init__(self, config: Any, *, index: Any = None, runtime: Any = None, use_model: bool = True,
                 model_role: str = "chat"):
        self._config = config
        self._use_model = use_model
        self._model_role = model_role  # chat: the kit's own model; offload: a big node's (evy.offload)
        self._index, self._runtime = index, runtime
        self._ready = threading.Event()
        self._closed = False
        self._started = False
        self._lock = threading.Lock()
        if index is not None or runtime is not None:
            self._started = True
            self._ready.set()

    def start(self) -> None:
        """Begin opening the index and the model in the background (idempotent, returns at once)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._open, name="evy-knowledge-open", daemon=True).start()

    def wait(self, deadline: float | None = None) -> bool:
        """Start opening if needed and wait until done or ``deadline`` (monotonic); True when done."""
        self.start()
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        return self._ready.wait(timeout)

    def _open(self) -> None:
        try:
            if self._config["rag.enabled"]:
                from evy.rag import open_index

                with _OPENING:
                    self._index = open_index(self._config)
            if self._use_model:
                from evy.llm import open_runtime

                self._runtime = open_runtime(self._config, self._model_role)  # None when disabled
        except Exception:  # an optional capability failing must never take the responder down
            log.exception("knowledge base or local model could not be opened; templates only")
        finally:
            self._ready.set()
            if self._closed:  # closed while opening: release what was just opened
                self._release()

    @property
    def has_model(self) -> bool:
        return self._runtime is not None

    def status(self) -> dict[str, Any]:
        """What is open, for the kit's health: the knowledge base and the local model."""
        name = getattr(self._runtime, "name", None)
        return {"ready": self._ready.is_set(), "index": self._index is not None, "model": name,
                "model_memory_mb": self.model_memory_mb}

    @property
    def model_memory_mb(self) -> int:
        """Memory the loaded model's worker holds (0 when none is running), which it would not need again."""
        rss = getattr(self._runtime, "worker_rss_bytes", None)
        return rss() // 2**20 if callable(rss) else 0

    def search(self, query: str, *, k: int, language: str | None, deadline: float) -> list[PassageLike]:
        if not self.wait(deadline) or self._index is None:
            return []
        try:
            return list(self._index.search(query, k=k, language=language))
        except Exception:
            log.exception("knowledge-base search failed")
            return []

    def generate(self, messages: list[dict], *, max_tokens: int, deadline: float) -> str | None:
        """The model's answer, or None when there is no model, it failed, or the deadline passed."""
        if not self.wait(deadline) or self._runtime is None:
            return None
        from evy.llm import LlmError

        try:
            return self._runtime.generate(messages, max_tokens=max_tokens, deadline=deadline)
        except LlmError as exc:
            log.info("%s gave no answer in time (%s)", "local model" if self._model_role == "chat" else "offload model",
                     exc)
            return None

    def close(self) -> None:
        """Stop the model worker and close the index (idempotent). An open still running (building the index
        can take a minute on a Pi) is not waited for: it releases what it opened when it finishes."""
        self._closed = True
        if self._ready.is_set():
            self._release()

    def _release(self) -> None:
        with self._lock:  # close() and a finishing open may both get here: each resource is closed once
            resources, self._runtime, self._index = (self._runtime, self._index), None, None
        for resource in resources:
            if resource is not None:
                try:
                    resource.close()
                except Exception:
                    log.exception("closing %s failed", type(resource).__name__)
