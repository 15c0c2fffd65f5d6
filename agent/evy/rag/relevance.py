"""Retrieval quality on a labelled set of SMS-style questions: hit@1 and hit@3, per index."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class LabelledQuery:
    text: str
    language: str
    relevant: frozenset[str]


def labelled_queries() -> list[LabelledQuery]:
    raw = tomllib.loads((resources.files("evy.bench") / "rag_queries.toml").read_text(encoding="utf-8"))
    return [LabelledQuery(q["text"], q["language"], frozenset(q["relevant"])) for q in raw["query"]]


def hit_rates(index: Any, queries: list[LabelledQuery]) -> dict[str, Any]:
    """Share of questions whose first passage (hit@1) or any of the first three (hit@3) is relevant."""
    first = top3 = 0
    misses = []
    for query in queries:
        keys = [p.key for p in index.search(query.text, k=3, language=query.language)]
        first += bool(keys) and keys[0] in query.relevant
        found = bool(query.relevant.intersection(keys))
        top3 += found
        if not found:
            misses.append(query.text)
    return {"hit_at_1": round(first / len(queries), 3), "hit_at_3": round(top3 / len(queries), 3),
            "queries": len(queries), "misses": misses}
