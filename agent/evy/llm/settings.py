"""Settings of the local model runtime ([llm]) and of the knowledge-base retrieval ([rag])."""

from evy.config.schema import Setting, boolean, integer, number, optional_path, string

SETTINGS = [
    # Off by default: on the eval (eval/README.md) the model's follow-ups added no fact the knowledge base did
    # not, and two of them were garbled or harmful text that passed every check.
    Setting("llm.enabled", boolean, False,
            "Let the local model write follow-up answers to routine questions (never to emergencies). Off by "
            "default: follow-ups are then reviewed knowledge-base text only. Turn on with a bigger model "
            "pinned and evaluated (`invoke eval`)."),
    Setting("llm.model", string, "auto",
            "Chat model to load, by its name in models.lock; `auto` picks the largest pinned chat model "
            "that fits in free memory."),
    Setting("llm.lockfile", optional_path, None,
            "models.lock to verify models against; the source tree's, else /usr/share/evy/models.lock."),
    Setting("llm.models_dir", optional_path, None,
            "Directory of model files that are downloaded or derived (not shipped in a Python package); "
            "`<data_dir>/models` when unset."),
    Setting("llm.context", integer(256, 32768), 1024,
            "Context window in tokens. Small keeps memory and prompt time down on a Pi."),
    Setting("llm.threads", integer(0, 64), 0, "CPU threads for generation; 0 means one per core."),
    Setting("llm.max_tokens", integer(8, 2048), 160, "Most tokens one answer may have (about one SMS of text)."),
    Setting("llm.timeout", number(0.1, 600), 20.0,
            "Seconds a follow-up may take (knowledge base, local model or a big node's answer, model loading "
            "included) before the first reply stands alone."),
    Setting("llm.idle_unload", number(0, 86400), 600.0,
            "Seconds without a request after which the model is unloaded to free memory; 0 keeps it loaded."),
    Setting("llm.memory_margin_mb", integer(0, 65536), 150,
            "Free memory (MB) to leave beyond the model's own needs when choosing or loading a model."),
    Setting("rag.enabled", boolean, True, "Ground answers in the shipped emergency knowledge base."),
    Setting("rag.index", optional_path, None,
            "SQLite file of the knowledge-base index; `<data_dir>/kb.sqlite` when unset. Built at first start."),
    Setting("rag.embed_model", string, "all-minilm-l6-v2",
            "Embedding model (its name in models.lock); empty for keyword search (FTS5) only."),
    Setting("rag.top_k", integer(1, 20), 3, "Passages retrieved per question."),
]
