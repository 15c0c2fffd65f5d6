"""Local model and retrieval figures: load time, first-token latency, tokens/s (EVY's worker vs raw
llama-cpp-python on the same prompt), prefix-cache effect, worker RSS, and knowledge-base query times
(real index, and a synthetic 10k-passage index for sqlite-vec + FTS5 scaling). Medians throughout."""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

SYSTEM = ("You are EVY, an offline emergency assistant answering by SMS. Give the most important first "
          "steps in two short sentences. Always tell the person to call the emergency number.")
QUESTIONS = ["Someone is bleeding heavily from the leg, what do I do?", "My child swallowed bleach.",
             "How do I help someone with a burn on the arm?", "A man collapsed and is not breathing.",
             "There is a flood and water is rising around the house.", "My friend was bitten by a snake."]
QUERIES = ["my son fell through ice not breathing", "bleeding a lot from leg", "snake bit my arm",
           "mi hijo se quemo con agua hirviendo", "il y a une inondation, l'eau monte",
           "meu pai esta com dor no peito", "how to make water safe to drink", "earthquake what to do"]


def _median(values: list[float], digits: int = 4) -> float | None:
    return round(statistics.median(values), digits) if values else None


def _p95(values: list[float], digits: int = 4) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], digits)


def _chat(runtime: Any, question: str, system: str = SYSTEM, max_tokens: int = 48) -> None:
    runtime.generate([{"role": "system", "content": system}, {"role": "user", "content": question}],
                     max_tokens=max_tokens, deadline=time.monotonic() + 300)


def bench_runtime(quick: bool, threads: int) -> dict[str, Any]:
    from evy.llm import Runtime, lockfile

    entry = lockfile.find(lockfile.load(), "smollm2-135m-instruct")
    path = lockfile.verify(entry, Path(tempfile.gettempdir()))
    rounds = 3 if quick else 8
    figures: dict[str, Any] = {"model": entry.name, "threads": threads}
    cold, loads = [], []
    for _ in range(1 if quick else 3):
        with Runtime(path, entry, threads=threads, idle_unload=0) as runtime:
            started = time.monotonic()
            _chat(runtime, QUESTIONS[0], max_tokens=1)
            cold.append(time.monotonic() - started)
            loads.append(runtime.stats.load_seconds)
    figures.update(cold_first_answer_s=_median(cold, 3), model_load_s=_median(loads, 3))

    raw_model = _raw_model(path, threads)
    with Runtime(path, entry, threads=threads, idle_unload=0) as runtime:
        _chat(runtime, QUESTIONS[0], max_tokens=4)
        figures["rss_after_load_mb"] = round(runtime.stats.rss_bytes / 2**20, 1)
        first, rates, raw_rates, warm_prompt, cold_prompt = [], [], [], [], []
        for i in range(rounds):
            # Wrapper and raw llama-cpp-python alternate, so both see the same load on shared cores.
            _chat(runtime, QUESTIONS[i % len(QUESTIONS)], max_tokens=64)
            stats = runtime.stats
            first.append(stats.first_token_seconds)
            rates.append((stats.tokens - 1) / (stats.generate_seconds - stats.first_token_seconds)
                         if stats.tokens > 1 else None)
            raw_rates.append(_raw_rate(raw_model, QUESTIONS[i % len(QUESTIONS)]))
        for i in range(rounds):
            # Same system prompt as the previous request: its KV cache is reused (warm prefix).
            _chat(runtime, QUESTIONS[i % len(QUESTIONS)], max_tokens=1)
            _chat(runtime, QUESTIONS[(i + 1) % len(QUESTIONS)], max_tokens=1)
            warm_prompt.append(runtime.stats.first_token_seconds)
            # A different first sentence invalidates the whole cached prefix (cold prompt).
            _chat(runtime, QUESTIONS[i % len(QUESTIONS)], system=f"Case {i}. " + SYSTEM, max_tokens=1)
            cold_prompt.append(runtime.stats.first_token_seconds)
        figures.update(
            first_token_ms=_median([s * 1000 for s in first], 1),
            tokens_per_s=_median([r for r in rates if r], 2),
            raw_llama_cpp_tokens_per_s=_median([r for r in raw_rates if r], 2),
            prompt_warm_prefix_ms=_median([s * 1000 for s in warm_prompt], 1),
            prompt_cold_prefix_ms=_median([s * 1000 for s in cold_prompt], 1),
            rss_after_generation_mb=round(runtime.worker_rss_bytes() / 2**20, 1),
        )
    raw_model.close()
    # Paired per round: each wrapper run against the raw run right after it, under the same load.
    pairs = [w / r for w, r in zip(rates, raw_rates, strict=False) if w and r]
    figures["wrapper_vs_raw"] = _median(pairs, 3)
    return figures


def _raw_model(path: Path, threads: int) -> Any:
    from llama_cpp import Llama

    return Llama(model_path=str(path), n_ctx=1024, n_threads=threads, n_threads_batch=threads, verbose=False,
                 seed=1)


def _raw_rate(model: Any, question: str) -> float | None:
    """The same request straight through llama-cpp-python in this process: the wrapper's baseline."""
    from evy.llm.runtime import DEFAULT_SAMPLING

    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]
    first, tokens = None, 0
    for chunk in model.create_chat_completion(messages=messages, max_tokens=64, stream=True, **DEFAULT_SAMPLING):
        if chunk["choices"][0]["delta"].get("content"):
            tokens += 1
            first = first or time.monotonic()
    return (tokens - 1) / (time.monotonic() - first) if tokens > 1 else None


def bench_retrieval(quick: bool, threads: int) -> dict[str, Any]:
    from evy.config import parse
    from evy.rag import Index, build, corpus
    from evy.rag.embed import open_embedder
    from evy.rag.relevance import hit_rates, labelled_queries

    figures: dict[str, Any] = {}
    chunks = corpus.load()
    with tempfile.TemporaryDirectory(prefix="evy-bench-") as tmp:
        config = parse(f'data_dir = "{tmp}"\n[llm]\nthreads = {threads}\n')
        started = time.monotonic()
        embedder = open_embedder(config)  # derives the GGUF embedder from its package: a one-time cost
        figures["embedder_prepare_s"] = round(time.monotonic() - started, 2)
        figures["embed_model"] = embedder.name if embedder else None
        report = build(Path(tmp) / "kb.sqlite", chunks, embedder)
        figures.update(kb_passages=report.passages, kb_build_s=round(report.seconds, 2))
        queries = labelled_queries()
        with Index.open(report.path, embedder) as index:
            index.search("warm up", k=3)
            hybrid = _timed_searches(index, 3 if quick else 10)
            quality = hit_rates(index, queries)
        with Index.open(report.path) as index:
            keyword = _timed_searches(index, 3 if quick else 10)
            keyword_quality = hit_rates(index, queries)
        figures.update(rag_hit_at_1=quality["hit_at_1"], rag_hit_at_3=quality["hit_at_3"],
                       rag_keyword_hit_at_1=keyword_quality["hit_at_1"],
                       rag_keyword_hit_at_3=keyword_quality["hit_at_3"], rag_labelled_queries=len(queries))
        figures.update(rag_query_ms=_median(hybrid, 2), rag_query_p95_ms=_p95(hybrid, 2),
                       rag_keyword_query_ms=_median(keyword, 3))
        if embedder is not None:
            figures.update(_synthetic_scale(Path(tmp), chunks, len(chunks) * 16 if quick else 10_000,
                                            embedder, 3 if quick else 10))
            embedder.close()
    return figures


def _timed_searches(index: Any, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        for query in QUERIES:
            started = time.perf_counter()
            index.search(query, k=3)
            times.append((time.perf_counter() - started) * 1000)
    return times


def _synthetic_scale(tmp: Path, chunks: list, size: int, embedder: Any, repeats: int) -> dict[str, Any]:
    """Retrieval over ``size`` passages: real texts repeated for FTS5, random unit vectors for sqlite-vec
    (a KNN scan costs the same whatever the vectors hold), queries embedded for real."""
    from evy.rag.index import Index, build_synthetic

    path = build_synthetic(tmp / "kb-synthetic.sqlite", chunks, size, embedder, random.Random(7))
    with Index.open(path, embedder) as index:
        times = _timed_searches(index, repeats)
    embed_times = []
    for query in QUERIES * repeats:
        started = time.perf_counter()
        embedder.embed([query])
        embed_times.append((time.perf_counter() - started) * 1000)
    return {"synthetic_passages": size, "synthetic_query_ms": _median(times, 2),
            "synthetic_query_p95_ms": _p95(times, 2), "query_embedding_ms": _median(embed_times, 2)}


def run(quick: bool) -> dict[str, Any]:
    # The raw baseline runs llama.cpp in this process: give it the worker's OpenMP wait policy (it is read
    # when llama_cpp is first imported) so the comparison is like for like.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    threads = os.cpu_count() or 1
    return {**bench_runtime(quick, threads), **bench_retrieval(quick, threads)}
