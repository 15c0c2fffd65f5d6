"""The runtime with the REAL packaged SmolLM2 model in llama.cpp: generation, deadlines, kills, bad files."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import time

import pytest

from evy.llm import LlmError, LlmTimeout, Runtime, choose_chat_model, lockfile, open_runtime
from evy.llm.errors import ModelError

pytest.importorskip("llama_cpp")

SYSTEM = {"role": "system", "content": "You are EVY, an emergency helper. Answer in one short sentence."}
ASK = {"role": "user", "content": "What should I do for a small burn on my hand?"}
LONG_ASK = {"role": "user", "content": "Explain in detail, step by step, everything about first aid. " * 25}


@pytest.fixture(scope="module")
def runtime(data_dir, config_for) -> Runtime:
    runtime = open_runtime(config_for(data_dir, llm__context=1024, llm__threads=2))
    assert runtime is not None
    yield runtime
    runtime.close()


@pytest.mark.slow
def test_generates_a_short_answer_and_keeps_the_model_warm(runtime):
    answer = runtime.generate([SYSTEM, ASK], max_tokens=12, deadline=time.monotonic() + 60)
    assert answer and isinstance(answer, str)
    assert 1 <= runtime.stats.tokens <= 12
    assert runtime.stats.first_token_seconds is not None and runtime.stats.load_seconds is not None
    pid = runtime.worker_pid
    again = runtime.generate([SYSTEM, ASK], max_tokens=6, deadline=time.monotonic() + 60)
    assert again and runtime.worker_pid == pid and runtime.stats.loads == 1  # same warm worker


@pytest.mark.slow
def test_a_tiny_deadline_fails_fast_and_the_next_call_still_works(runtime):
    runtime.generate([SYSTEM, ASK], max_tokens=2, deadline=time.monotonic() + 60)  # loaded and warm
    started = time.monotonic()
    with pytest.raises(LlmTimeout) as caught:
        runtime.generate([SYSTEM, LONG_ASK], max_tokens=200, deadline=time.monotonic() + 0.05)
    assert time.monotonic() - started < 1.5
    assert isinstance(caught.value, LlmError) and isinstance(caught.value, TimeoutError)
    answer = runtime.generate([SYSTEM, ASK], max_tokens=8, deadline=time.monotonic() + 60)
    assert answer


@pytest.mark.slow
def test_a_killed_worker_is_restarted_on_the_next_request(runtime):
    runtime.generate([SYSTEM, ASK], max_tokens=2, deadline=time.monotonic() + 60)
    loads, pid = runtime.stats.loads, runtime.worker_pid
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    answer = runtime.generate([SYSTEM, ASK], max_tokens=4, deadline=time.monotonic() + 60)
    assert answer and runtime.stats.loads == loads + 1 and runtime.worker_pid != pid


def test_a_deadline_already_past_raises_without_starting_anything(chat_entry, chat_model_path):
    runtime = Runtime(chat_model_path, chat_entry)
    with pytest.raises(LlmTimeout, match="no time left"):
        runtime.generate([ASK], max_tokens=4, deadline=time.monotonic() - 1)
    assert runtime.worker_pid is None
    runtime.close()


def _lock_with(tmp_path, entry: lockfile.ModelEntry):
    lock = tmp_path / "models.lock"
    lock.write_text(lockfile.dumps([entry]))
    return lock


def test_a_corrupt_model_file_disables_the_runtime_with_one_warning(tmp_path, chat_entry, chat_model_path, caplog,
                                                                    config_for):
    models = tmp_path / "models"
    models.mkdir()
    copy = models / chat_entry.file
    shutil.copyfile(chat_model_path, copy)
    with open(copy, "r+b") as damaged:
        damaged.seek(chat_entry.size // 2)
        byte = damaged.read(1)
        damaged.seek(-1, os.SEEK_CUR)
        damaged.write(bytes([byte[0] ^ 0xFF]))
    entry = lockfile.ModelEntry(**{**chat_entry.__dict__, "source": "https://models.example/smollm2.gguf"})
    config = config_for(tmp_path, llm__lockfile=_lock_with(tmp_path, entry), llm__models_dir=models)
    with pytest.raises(lockfile.ModelMismatch, match="corrupt or replaced"):
        lockfile.verify(entry, models)
    with caplog.at_level(logging.WARNING, logger="evy.llm"):
        assert open_runtime(config) is None
    [record] = [r for r in caplog.records if r.name == "evy.llm"]
    assert "answering from templates" in record.getMessage() and "\n" not in record.getMessage()


def test_a_missing_model_file_disables_the_runtime(tmp_path, chat_entry, caplog, config_for):
    entry = lockfile.ModelEntry(**{**chat_entry.__dict__, "source": "https://models.example/smollm2.gguf"})
    config = config_for(tmp_path, llm__lockfile=_lock_with(tmp_path, entry), llm__models_dir=tmp_path / "none")
    with caplog.at_level(logging.WARNING, logger="evy.llm"):
        assert open_runtime(config) is None
    assert "is missing" in caplog.text


def test_disabled_or_unpinned_means_no_runtime(tmp_path, config_for):
    assert open_runtime(config_for(tmp_path, llm__enabled=False)) is None
    assert open_runtime(config_for(tmp_path, llm__model="no-such-model")) is None


def test_a_pinned_file_that_llama_cannot_load_is_a_model_error(tmp_path, config_for):
    models = tmp_path / "models"
    models.mkdir()
    junk = models / "junk.gguf"
    junk.write_bytes(b"GGUF" + b"\x00" * 60)
    entry = lockfile.ModelEntry(name="junk", role="chat", file="junk.gguf", sha256=lockfile.sha256_file(junk),
                                size=64, source="https://models.example/junk.gguf", license="MIT")
    runtime = open_runtime(config_for(tmp_path, llm__lockfile=_lock_with(tmp_path, entry), llm__models_dir=models))
    assert runtime is not None  # the file matches its pin; only loading can tell it is not a model
    with runtime:
        with pytest.raises(ModelError, match="junk failed to load"):
            runtime.generate([ASK], max_tokens=4, deadline=time.monotonic() + 60)
        started = time.monotonic()
        with pytest.raises(ModelError, match="junk failed to load"):  # remembered, not retried
            runtime.generate([ASK], max_tokens=4, deadline=time.monotonic() + 60)
        assert time.monotonic() - started < 0.1 and runtime.stats.loads == 1


@pytest.mark.parametrize("messages", [[], [{"role": "user"}], ["hello"], [{"role": "user", "content": 5}]])
def test_malformed_messages_are_refused_before_the_model_sees_them(chat_entry, chat_model_path, messages):
    with Runtime(chat_model_path, chat_entry) as runtime, pytest.raises(LlmError, match="messages must be"):
        runtime.generate(messages, max_tokens=4, deadline=time.monotonic() + 60)
    assert runtime.stats.loads == 0


def _entry(name: str, size: int) -> lockfile.ModelEntry:
    return lockfile.ModelEntry(name=name, role="chat", file=f"{name}.gguf", sha256="0" * 64, size=size,
                               source=f"https://models.example/{name}.gguf", license="MIT")


def test_auto_picks_the_largest_chat_model_that_fits_in_free_memory():
    small, large = _entry("small", 100 << 20), _entry("large", 1000 << 20)
    assert choose_chat_model([small, large], "auto", free=4 << 30).name == "large"
    assert choose_chat_model([small, large], "auto", free=600 << 20).name == "small"
    assert choose_chat_model([small, large], "auto", free=None).name == "large"
    with pytest.raises(ModelError, match="not enough free memory for model small"):
        choose_chat_model([small, large], "auto", free=100 << 20)
    assert choose_chat_model([small, large], "small", free=4 << 30).name == "small"


@pytest.mark.slow
def test_an_idle_worker_unloads_itself_and_comes_back_on_demand(chat_entry, chat_model_path):
    with Runtime(chat_model_path, chat_entry, threads=2, idle_unload=0.5) as runtime:
        runtime.generate([SYSTEM, ASK], max_tokens=2, deadline=time.monotonic() + 60)
        pid = runtime.worker_pid
        deadline = time.monotonic() + 10
        while runtime.worker_pid is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert runtime.worker_pid is None, "the idle worker did not exit"
        assert runtime.generate([SYSTEM, ASK], max_tokens=2, deadline=time.monotonic() + 60)
        assert runtime.stats.loads == 2 and runtime.worker_pid != pid
