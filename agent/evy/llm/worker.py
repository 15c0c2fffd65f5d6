"""The model worker: a child process that keeps one llama.cpp model loaded and streams answers back.

It runs in its own process because llama.cpp's prompt evaluation cannot be interrupted from Python: the
parent (:class:`evy.llm.runtime.Runtime`) kills the process when a deadline passes mid-prompt. Between
tokens the worker also honours a polite ``cancel``, so a deadline hit during generation keeps the model warm.

Messages, parent → worker: ``("generate", id, messages, max_tokens, sampling)``, ``("cancel", id)``,
``("stop",)``. Worker → parent: ``("ready", load_seconds, rss_bytes)`` or ``("failed", reason)`` once,
then per request ``("token", id, text)``… (text of one or more tokens) and ``("done", id, finish_reason, tokens)`` or
``("error", id, reason)``.
"""

from __future__ import annotations

import os
import sys
import time
from multiprocessing.connection import Connection
from typing import Any

from evy.llm.procinfo import rss_bytes

_FLUSH_SECONDS = 0.1


def serve(conn: Connection, model_path: str, context: int, threads: int, idle_unload: float) -> None:
    """Load the model, announce it, then answer requests until stopped, idle too long or orphaned."""
    started = time.monotonic()
    try:
        from llama_cpp import Llama

        model = Llama(model_path=model_path, n_ctx=context, n_threads=threads, n_threads_batch=threads,
                      use_mmap=True, verbose=False, seed=1)
    except Exception as exc:  # any load failure is reported, never raised into a dead pipe
        conn.send(("failed", f"{type(exc).__name__}: {exc}".splitlines()[0]))
        return
    conn.send(("ready", time.monotonic() - started, rss_bytes()))
    while True:
        # Exiting when idle frees the model's memory; the parent restarts the worker on the next request.
        if idle_unload > 0 and not conn.poll(idle_unload):
            return
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "stop":
            return
        if message[0] == "generate":
            _generate(conn, model, *message[1:])
        # a stale ("cancel", id) for a request that already finished needs nothing


def _generate(conn: Connection, model: Any, request: int, messages: list[dict], max_tokens: int,
              sampling: dict[str, Any]) -> None:
    tokens, finish, pending, flushed = 0, None, [], 0.0
    try:
        stream = model.create_chat_completion(messages=messages, max_tokens=max_tokens, stream=True,
                                              **sampling)
        for chunk in stream:
            choice = chunk["choices"][0]
            text = choice["delta"].get("content")
            if text:
                tokens += 1
                pending.append(text)
                # The first token goes at once (latency); later ones in small batches, because every
                # message wakes the parent, which then competes with llama.cpp's threads for the cores.
                if tokens == 1 or time.monotonic() - flushed >= _FLUSH_SECONDS:
                    conn.send(("token", request, "".join(pending)))
                    pending, flushed = [], time.monotonic()
            finish = choice.get("finish_reason") or finish
            if conn.poll() and _cancelled(conn, request):
                finish = "cancelled"
                stream.close()
                break
        if pending:
            conn.send(("token", request, "".join(pending)))
    except Exception as exc:
        conn.send(("error", request, f"{type(exc).__name__}: {exc}".splitlines()[0]))
        return
    conn.send(("done", request, finish, tokens))


def _cancelled(conn: Connection, request: int) -> bool:
    message = conn.recv()
    if message[0] == "stop":
        os._exit(0)
    return message[0] == "cancel" and message[1] == request


def main(argv: list[str]) -> None:
    descriptor, model_path, context, threads, idle_unload = argv
    conn = Connection(int(descriptor))
    try:
        serve(conn, model_path, int(context), int(threads), float(idle_unload))
    finally:
        conn.close()


if __name__ == "__main__":
    main(sys.argv[1:])
