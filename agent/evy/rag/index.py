"""The knowledge-base index: passages in SQLite, searched by FTS5 keywords and sqlite-vec vectors, fused.

Hybrid retrieval copes with both failure modes of SMS text: keywords catch exact terms in any language
(FTS5 folds accents, and prefixes absorb plurals and SMS truncation), vectors catch paraphrases
("not breathing" ~ "CPR"). The two rankings are merged by reciprocal rank fusion, 1/(60 + rank).
"""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evy.config.core import updates_dir
from evy.rag import corpus
from evy.rag.embed import Embedder, open_embedder
from evy.rag.errors import RagError
from evy.rag.sqlite import connect, driver

log = logging.getLogger(__name__)

FORMAT = "2"
RRF_K = 60
CANDIDATES = 20
# Cosine distance beyond which a vector neighbour is unrelated (MiniLM puts unrelated texts near 0.9-1.1).
MAX_DISTANCE = 0.75
_WORD = re.compile(r"\w+", re.UNICODE)
# Words that carry no topic, in the four shipped languages (accents are folded before the lookup).
_STOPWORD_TEXT = """
a an and are as at be by can do does for from has have he help her his how i im in is it its me my no not
of on or our pls please she so that the their them they this to us was we what when where who why will
with you your something someone somebody anything under into after before there here coming going get got
just very really now still been being would could should can cant don dont won wont isn didn also then than
only some out over about again
el la los las un una unos unas y o de del en que es mi mis por para con se me le lo al su sus ayuda
le les une et ou des du est mon ma mes pour avec ne pas il elle je au aux aide
os as um uma e do da dos das em meu minha por com nao ele ela eu na ajuda
algo alguien esta estoy tengo tiene hay muy como cuando donde porque pero mas
quelque quelqu chose suis avoir tres deja comme quand mais plus
alguem estou tenho tem muito como quando onde porque mas mais
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass(frozen=True)
class Passage:
    """A retrieved passage: its text, where the advice comes from, and its fused relevance score."""

    text: str
    source: str
    score: float
    title: str = ""
    language: str = ""
    key: str = ""


@dataclass(frozen=True)
class BuildReport:
    path: Path
    passages: int
    languages: tuple[str, ...]
    embed_model: str | None
    seconds: float


_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE passages(id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, language TEXT NOT NULL,
                      topic TEXT NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL, source TEXT NOT NULL,
                      keywords TEXT NOT NULL DEFAULT '');
CREATE VIRTUAL TABLE passages_fts USING fts5(title, keywords, text, content='passages', content_rowid='id',
                                             tokenize='unicode61 remove_diacritics 2');
"""


def build(path: Path | str, chunks: list[corpus.Chunk], embedder: Embedder | None) -> BuildReport:
    """Write a fresh index to ``path`` atomically (readers see the old index or the new one)."""
    started = time.monotonic()
    path = Path(path)
    if not chunks:
        raise RagError("the knowledge base has no passages to index")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise RagError(f"{path}: cannot write the knowledge-base index: {exc.strerror}") from None
    db = connect(tmp, vectors=embedder is not None)
    try:
        db.executescript(_SCHEMA)
        db.executemany("INSERT INTO passages(id, key, language, topic, title, text, source, keywords) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       [(i, c.key, c.language, c.topic, c.title, c.text, c.source, c.keywords)
                        for i, c in enumerate(chunks, start=1)])
        db.execute("INSERT INTO passages_fts(passages_fts) VALUES ('rebuild')")
        meta = {"format": FORMAT, "fingerprint": corpus.fingerprint(chunks), "embed_model": "",
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if embedder is not None:
            import sqlite_vec

            vectors = _embed_all(embedder, [embedding_text(c) for c in chunks])
            dims = len(vectors[0])
            db.execute(f"CREATE VIRTUAL TABLE passages_vec USING vec0(id INTEGER PRIMARY KEY, "
                       f"embedding float[{dims}] distance_metric=cosine, language TEXT)")
            db.executemany("INSERT INTO passages_vec(id, embedding, language) VALUES (?, ?, ?)",
                           [(i, sqlite_vec.serialize_float32(v), c.language)
                            for i, (c, v) in enumerate(zip(chunks, vectors, strict=True), start=1)])
            meta.update(embed_model=embedder.name, dimensions=str(dims))
        db.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", meta.items())
        db.commit()
        db.close()
        os.replace(tmp, path)
    except (driver().Error, OSError) as exc:
        db.close()
        raise RagError(f"{path}: cannot build the knowledge-base index: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    languages = tuple(sorted({c.language for c in chunks}))
    return BuildReport(path, len(chunks), languages, embedder.name if embedder else None,
                       time.monotonic() - started)


def build_synthetic(path: Path, chunks: list[corpus.Chunk], size: int, embedder: Embedder,
                    rng: random.Random) -> Path:
    """An index of ``size`` passages for the retrieval benchmark: real texts repeated for FTS5, random unit
    vectors for sqlite-vec (a KNN scan costs the same whatever the vectors hold)."""
    import sqlite_vec

    db = connect(path)
    db.executescript(_SCHEMA)
    rows = [(i, f"syn/{i}", c.language, c.topic, c.title, f"{c.text} ({i})", c.source, c.keywords)
            for i, c in enumerate((chunks[i % len(chunks)] for i in range(size)), start=1)]
    db.executemany("INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.execute("INSERT INTO passages_fts(passages_fts) VALUES ('rebuild')")
    dims = embedder.dimensions
    db.execute(f"CREATE VIRTUAL TABLE passages_vec USING vec0(id INTEGER PRIMARY KEY, "
               f"embedding float[{dims}] distance_metric=cosine, language TEXT)")

    def unit() -> bytes:
        vector = [rng.gauss(0, 1) for _ in range(dims)]
        norm = sum(v * v for v in vector) ** 0.5
        return sqlite_vec.serialize_float32([v / norm for v in vector])

    db.executemany("INSERT INTO passages_vec VALUES (?, ?, ?)", [(r[0], unit(), r[2]) for r in rows])
    db.executemany("INSERT INTO meta VALUES (?, ?)", [("format", FORMAT), ("embed_model", embedder.name)])
    db.commit()
    db.close()
    return path


def _embed_all(embedder: Embedder, texts: list[str]) -> list[list[float]]:
    # One text per call: llama.cpp pads and masks multi-sequence batches, which measured ~1.8x slower here.
    return [embedder.embed([text])[0] for text in texts]


def embedding_text(chunk: corpus.Chunk) -> str:
    keywords = f" ({chunk.keywords})" if chunk.keywords else ""
    return f"{chunk.title}{keywords}. {chunk.text}"


def fts_query(text: str) -> str | None:
    """An FTS5 OR-query of the message's content words, each cut to a prefix that absorbs inflections."""
    terms: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word in _STOPWORDS or (len(word) < 3 and not word.isdigit()):
            continue
        stem = word if len(word) <= 4 else word[:max(4, len(word) - 3)]
        term = f'"{stem}"*'
        if term not in terms:
            terms.append(term)
    return " OR ".join(terms) if terms else None


class Index:
    """An open knowledge-base index. Thread-safe; close is idempotent."""

    def __init__(self, db: Any, path: Path, meta: dict[str, str], embedder: Embedder | None):
        self._db = db
        self._lock = threading.Lock()
        self.path = path
        self.meta = meta
        self.embedder = embedder if meta.get("embed_model") and embedder is not None else None

    @classmethod
    def open(cls, path: Path | str, embedder: Embedder | None = None) -> Index:
        path = Path(path)
        if not path.is_file():
            raise RagError(f"{path}: knowledge-base index is missing; run `evy kb build`")
        db = connect(path, vectors=True, readonly=True)
        try:
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        except driver().Error as exc:
            db.close()
            raise RagError(f"{path}: not a knowledge-base index ({exc}); rebuild it with `evy kb build`") from None
        if meta.get("format") != FORMAT:
            db.close()
            raise RagError(f"{path}: index format {meta.get('format')!r}, expected {FORMAT}; run `evy kb build`")
        return cls(db, path, meta, embedder)

    @property
    def passages(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM passages").fetchone()[0]

    @property
    def languages(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT DISTINCT language FROM passages ORDER BY 1")]

    def search(self, query: str, k: int = 3, language: str | None = None) -> list[Passage]:
        """The ``k`` passages most relevant to ``query``, preferring ``language`` when it has any match."""
        if k < 1 or not query.strip():
            return []
        use_vectors = self.embedder is not None and self.embedder.covers(language)
        vector = self._query_vector(query) if use_vectors else None
        with self._lock:
            found = self._ranked(query, vector, k, language)
            if not found and language:
                found = self._ranked(query, vector, k, None)
            return found

    def _query_vector(self, query: str) -> bytes | None:
        if self.embedder is None:
            return None
        import sqlite_vec

        try:
            return sqlite_vec.serialize_float32(self.embedder.embed([query])[0])
        except RagError as exc:
            log.warning("query embedding failed, keyword search only: %s", exc)
            return None

    def _ranked(self, query: str, vector: bytes | None, k: int, language: str | None) -> list[Passage]:
        rankings = [self._keyword_ids(query, language)]
        if vector is not None:
            rankings.append(self._vector_ids(vector, language))
        scores: dict[int, float] = {}
        for ranking in rankings:
            for rank, passage_id in enumerate(ranking, start=1):
                scores[passage_id] = scores.get(passage_id, 0.0) + 1.0 / (RRF_K + rank)
        best = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]
        return [self._passage(passage_id, score) for passage_id, score in best]

    def _keyword_ids(self, query: str, language: str | None) -> list[int]:
        match = fts_query(query)
        if match is None:
            return []
        sql = ("SELECT p.id FROM passages_fts f JOIN passages p ON p.id = f.rowid WHERE passages_fts MATCH ?"
               + (" AND p.language = ?" if language else "") + " ORDER BY bm25(passages_fts, 2.0, 1.5, 1.0) LIMIT ?")
        params: tuple = (match, language, CANDIDATES) if language else (match, CANDIDATES)
        return [row[0] for row in self._db.execute(sql, params)]

    def _vector_ids(self, vector: bytes, language: str | None) -> list[int]:
        sql = ("SELECT id, distance FROM passages_vec WHERE embedding MATCH ? AND k = ?"
               + (" AND language = ?" if language else "") + " ORDER BY distance")
        params: tuple = (vector, CANDIDATES, language) if language else (vector, CANDIDATES)
        return [row[0] for row in self._db.execute(sql, params) if row[1] <= MAX_DISTANCE]

    def _passage(self, passage_id: int, score: float) -> Passage:
        key, language, title, text, source = self._db.execute(
            "SELECT key, language, title, text, source FROM passages WHERE id = ?", (passage_id,)).fetchone()
        return Passage(text, source, round(score, 6), title, language, key)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def index_path(config: Any) -> Path:
    return config["rag.index"] or Path(config["data_dir"]) / "kb.sqlite"


def _stale(path: Path, chunks: list[corpus.Chunk], embedder: Embedder | None) -> str | None:
    """Why the index at ``path`` must be rebuilt, or None if it is current."""
    if not path.is_file():
        return "missing"
    try:
        with Index.open(path) as index:
            meta = index.meta
    except RagError as exc:
        return str(exc)
    if meta.get("fingerprint") != corpus.fingerprint(chunks):
        return "the knowledge base changed"
    if embedder is not None and meta.get("embed_model") != embedder.name:
        return f"built with embedding model {meta.get('embed_model') or 'none'}, configured {embedder.name}"
    return None


def open_index(config: Any, chunks: Iterable[corpus.Chunk] | None = None) -> Index | None:
    """The configured index, (re)built first if missing or stale; None, logged, if retrieval is unusable."""
    if not config["rag.enabled"]:
        return None
    path = index_path(config)
    embedder = open_embedder(config)
    try:
        chunks = list(chunks) if chunks is not None else corpus.load(
            updates=updates_dir(config["data_dir"]) / "knowledge")
        reason = _stale(path, chunks, embedder)
        if reason:
            log.info("building knowledge-base index %s (%s)", path, reason)
            build(path, chunks, embedder)
        return Index.open(path, embedder)
    except RagError as exc:
        log.warning("knowledge-base retrieval disabled: %s", exc)
        return None
