"""The local model runtime: a warm model in a killable worker process, answers bounded by a deadline."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evy.llm.errors import LlmError, LlmTimeout, ModelError
from evy.llm.lockfile import ModelEntry
from evy.llm.procinfo import rss_bytes

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

log = logging.getLogger(__name__)

# Sampling tuned for short factual answers from small models: low temperature, and a repeat penalty
# because SmolLM2-class models otherwise loop on the same sentence.
DEFAULT_SAMPLING = {"temperature": 0.3, "top_p": 0.9, "top_k": 40, "repeat_penalty": 1.15}
# llama.cpp's OpenMP threads spin while waiting for each other; on cores shared with the agent (or anything
# else) that made generation 8x slower in our measurements. Passive waiting costs little on an idle CPU.
_WORKER_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}
_CANCEL_GRACE = 0.2  # seconds a worker gets to stop politely before it is killed
_STOP_GRACE = 2.0


@dataclass
class RuntimeStats:
    """Figures of the last load and the last answer (for benchmarks and `evy models` diagnostics)."""

    loads: int = 0
    kills: int = 0
    load_seconds: float | None = None
    rss_bytes: int = 0
    first_token_seconds: float | None = None
    tokens: int = 0
    generate_seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Runtime:
    """One chat model served by a worker process that is started lazily and restarted after a kill.

    No I/O happens in the constructor; :meth:`warm` starts loading in the background, :meth:`generate`
    starts the worker itself if needed. Calls are serialised: the model answers one request at a time.
    """

    def __init__(self, model_path: Path, entry: ModelEntry, *, context: int = 1024, threads: int = 0,
                 idle_unload: float = 600.0, sampling: dict[str, Any] | None = None):
        self.model_path = Path(model_path)
        self.entry = entry
        self.context = context
        self.threads = threads or os.cpu_count() or 1
        self.idle_unload = idle_unload
        self.sampling = {**DEFAULT_SAMPLING, **(sampling or {})}
        self.stats = RuntimeStats()
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._conn: Connection | None = None
        self._ready = False
        self._request = 0
        self._failure: str | None = None

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def worker_pid(self) -> int | None:
        return self._process.pid if self._alive() else None

    def _alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def warm(self) -> None:
        """Start loading the model now, without waiting, so the first answer does not pay for the load."""
        with self._lock:
            self._ensure_worker()

    def generate(self, messages: list[dict], *, max_tokens: int, deadline: float) -> str:
        """The model's answer to a chat, complete before ``deadline`` (a time.monotonic() instant).

        Raises :class:`LlmTimeout` (with the partial text) when the deadline passes, :class:`LlmError`
        when the worker fails or dies; the next call starts a fresh worker if the old one is gone.
        """
        if max_tokens < 1:
            raise LlmError(f"max_tokens must be at least 1, got {max_tokens}")
        if not messages or not all(isinstance(m, dict) and isinstance(m.get("role"), str)
                                   and isinstance(m.get("content"), str) for m in messages):
            raise LlmError("messages must be a non-empty list of {'role': str, 'content': str}")
        with self._lock:
            if self._failure:
                raise ModelError(self._failure)
            started = time.monotonic()
            if started >= deadline:
                raise LlmTimeout("no time left before the deadline")
            self._ensure_worker()
            self._wait_ready(deadline)
            self._request += 1
            request = self._request
            try:
                self._conn.send(("generate", request, messages, max_tokens, self.sampling))
            except (BrokenPipeError, OSError):
                self._reap()
                raise LlmError(f"model worker for {self.name} is gone; it restarts on the next request") from None
            return self._collect(request, started, deadline)

    def close(self) -> None:
        """Stop the worker (politely, then by force); idempotent."""
        with self._lock:
            if self._process is None:
                return
            with contextlib.suppress(BrokenPipeError, OSError):
                self._conn.send(("stop",))
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(_STOP_GRACE)
            self._reap()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_worker(self) -> None:
        if self._alive():
            return
        self._reap()
        # A fresh interpreter (not fork: the agent has threads and locks; not multiprocessing's spawn: it
        # re-imports the caller's __main__) talking over a socket pair.
        ours, theirs = socket.socketpair()
        package_root = str(Path(__file__).resolve().parents[2])
        env = {**_WORKER_ENV, **os.environ,
               "PYTHONPATH": os.pathsep.join(filter(None, (package_root, os.environ.get("PYTHONPATH"))))}
        args = [sys.executable, "-m", "evy.llm.worker", str(theirs.fileno()), str(self.model_path),
                str(self.context), str(self.threads), str(self.idle_unload)]
        try:
            process = subprocess.Popen(args, pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL)
        except OSError as exc:
            ours.close()
            raise LlmError(f"cannot start the model worker: {exc.strerror}") from None
        finally:
            theirs.close()
        from multiprocessing.connection import Connection  # not at the top: the agent imports this before READY

        self._process, self._conn, self._ready = process, Connection(ours.detach()), False
        self.stats.loads += 1

    def _wait_ready(self, deadline: float) -> None:
        if self._ready:
            return
        # A deadline hit while loading leaves the worker loading: the next request finds it warm.
        message = self._receive(deadline, "while the model was loading")
        if message[0] == "failed":
            self._reap()
            # The file matched its pin, so it will not load next time either: fail fast from now on.
            self._failure = f"model {self.name} failed to load from {self.model_path}: {message[1]}"
            raise ModelError(self._failure)
        _, self.stats.load_seconds, self.stats.rss_bytes = message
        self._ready = True

    def _collect(self, request: int, started: float, deadline: float) -> str:
        parts: list[str] = []
        self.stats.first_token_seconds, self.stats.tokens = None, 0
        while True:
            try:
                message = self._receive(deadline, "while generating", partial=parts)
            except LlmTimeout:
                self._cancel(request)
                raise
            kind, about = message[0], message[1]
            if about != request:
                continue  # the tail of a request that was cancelled earlier
            if kind == "token":
                if not parts:
                    self.stats.first_token_seconds = time.monotonic() - started
                parts.append(message[2])
            elif kind == "done":
                self.stats.tokens = message[3]
                self.stats.generate_seconds = time.monotonic() - started
                self.stats.extra["finish_reason"] = message[2]
                return "".join(parts).strip()
            elif kind == "error":
                raise LlmError(f"model {self.name} failed: {message[2]}")

    def _receive(self, deadline: float, doing: str, partial: list[str] | None = None) -> tuple:
        remaining = deadline - time.monotonic()
        try:
            ready = remaining > 0 and self._conn.poll(remaining)
            message = self._conn.recv() if ready else None
        except (EOFError, OSError):
            code = self._process.poll() if self._process is not None else None
            self._reap()
            raise LlmError(f"model worker for {self.name} died {doing} (exit code {code}); "
                           "it restarts on the next request") from None
        if message is None:
            raise LlmTimeout(f"model {self.name} passed its deadline {doing}", "".join(partial or ()))
        return message

    def _cancel(self, request: int) -> None:
        """Ask the worker to stop this answer; kill it if it cannot hear us (it is inside prompt evaluation)."""
        try:
            self._conn.send(("cancel", request))
            until = time.monotonic() + _CANCEL_GRACE
            while (remaining := until - time.monotonic()) > 0 and self._conn.poll(remaining):
                message = self._conn.recv()
                if message[0] in ("done", "error") and message[1] == request:
                    return
        except (EOFError, OSError):
            pass
        self.stats.kills += 1
        log.info("model worker for %s killed at its deadline", self.name)
        self._reap()

    def _reap(self) -> None:
        """Forget the worker: kill it if it still runs, collect its exit, close the pipe."""
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
        if self._conn is not None:
            self._conn.close()
        self._process, self._conn, self._ready = None, None, False

    def worker_rss_bytes(self) -> int:
        pid = self.worker_pid
        return rss_bytes(pid) if pid else 0
