"""The local language model: pinned model files (models.lock) and a deadline-bound runtime.

``open_runtime(config)`` returns a :class:`Runtime` or None (disabled, model missing or corrupt, not
enough memory), logging one line why; with None the agent answers from its templates alone.
llama-cpp-python is imported only inside the worker process, so importing this package is cheap.
"""

from __future__ import annotations

import logging
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from evy.llm import lockfile
from evy.llm.errors import LlmError, LlmTimeout, LockfileError, ModelError, ModelMismatch, ModelMissing
from evy.llm.procinfo import available_memory
from evy.llm.runtime import Runtime

__all__ = ["LlmError", "LlmTimeout", "LockfileError", "ModelError", "ModelMismatch", "ModelMissing",
           "Runtime", "available_memory", "choose_chat_model", "models_dir", "open_runtime"]

log = logging.getLogger(__name__)

# Beyond its file, a small GGUF model needs its KV cache, compute buffers and the worker's Python:
# SmolLM2 (98 MB) measured 182 MB resident after loading and 200 MB after answering, at a 1024-token context.
_LOAD_FACTOR = 1.3
_WORKER_OVERHEAD = 80 << 20


def models_dir(config: Any) -> Path:
    return config["llm.models_dir"] or Path(config["data_dir"]) / "models"


def memory_needed(entry: lockfile.ModelEntry) -> int:
    return int(entry.size * _LOAD_FACTOR) + _WORKER_OVERHEAD


def choose_chat_model(entries: list[lockfile.ModelEntry], wanted: str, free: int | None,
                      margin: int = 0, role: str = "chat") -> lockfile.ModelEntry:
    """The named model of ``role`` (chat, or offload for a big node), or for ``auto`` the largest pinned
    model of that role that fits in free memory."""
    if wanted != "auto":
        entry = lockfile.find(entries, wanted)
        if entry.role != role:
            raise LockfileError(f"model {wanted!r} is pinned with role {entry.role!r}, not {role}")
        candidates = [entry]
    else:
        candidates = sorted((e for e in entries if e.role == role), key=lambda e: e.size, reverse=True)
        if not candidates:
            raise LockfileError(f"models.lock pins no {role} model")
    for entry in candidates:
        if free is None or memory_needed(entry) + margin <= free:
            return entry
    smallest = candidates[-1]
    raise ModelError(f"not enough free memory for model {smallest.name}: needs about "
                     f"{(memory_needed(smallest) + margin) >> 20} MB, {free >> 20} MB available")


def open_runtime(config: Any, role: str = "chat") -> Runtime | None:
    """The runtime the config asks for, verified against models.lock; None (logged) if unusable. ``role``
    chat is the kit's own model (``llm.model``); offload is the model a big node answers other kits with
    (``offload.model``, loaded only when ``offload.serve`` is on)."""
    enabled, wanted = ((config["llm.enabled"], config["llm.model"]) if role == "chat"
                       else (config["offload.serve"], config["offload.model"]))
    if not enabled:
        return None
    what = ("local model disabled, answering from templates" if role == "chat"
            else "offload model disabled, not answering for other kits")
    if find_spec("llama_cpp") is None:
        log.warning("%s: llama-cpp-python is not installed", what)
        return None
    try:
        entries = lockfile.load(config["llm.lockfile"])
        entry = choose_chat_model(entries, wanted, available_memory(), config["llm.memory_margin_mb"] << 20, role)
        path = lockfile.verify(entry, models_dir(config))
    except LlmError as exc:
        log.warning("%s: %s", what, exc)
        return None
    return Runtime(path, entry, context=config["llm.context"], threads=config["llm.threads"],
                   idle_unload=config["llm.idle_unload"])
