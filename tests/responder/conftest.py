"""A real keyword-only (FTS5) knowledge-base index, built once per session from the shipped KB."""

from __future__ import annotations

import pytest

from evy.config import parse


@pytest.fixture(scope="session")
def kb_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("evy-data")


@pytest.fixture
def make_config(kb_dir):
    def make(extra: str = "") -> object:
        """A brain config; the model writes routine follow-ups (off by default) unless ``extra`` says not."""
        extra = extra if "[llm]" in extra else f"{extra}\n[llm]\nenabled = true\n"
        return parse(f'data_dir = "{kb_dir}"\nresponder = "brain"\n{extra}\n[rag]\nembed_model = ""\n')

    return make
