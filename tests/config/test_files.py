"""evy.files: the one sha256, atomic write and TOML writer the agent and the image builder share."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evy.files import atomic_write, replacing, sha256_file, sha256_stream, toml_document, toml_value

KEYS = st.text(min_size=1, max_size=12)
SCALARS = st.one_of(st.booleans(), st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=40))
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=4), st.dictionaries(KEYS, SCALARS, max_size=3))


def test_sha256_of_a_file_and_a_stream(tmp_path: Path) -> None:
    content = os.urandom(3 << 20 | 17)  # more than one block, not a whole number of them
    target = tmp_path / "blob"
    target.write_bytes(content)
    assert sha256_file(target) == hashlib.sha256(content).hexdigest()
    assert sha256_stream(io.BytesIO(content)) == (hashlib.sha256(content).hexdigest(), len(content))


def test_atomic_write_replaces_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "state.json"
    atomic_write(target, "old")
    atomic_write(target, "néw")
    assert target.read_text(encoding="utf-8") == "néw"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    atomic_write(target, b"\x00\x01", mode=0o644)
    assert target.read_bytes() == b"\x00\x01" and stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["state.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "models.lock"
    target.write_text("old")
    with pytest.raises(RuntimeError), replacing(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("crash while writing")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["models.lock"]


@given(VALUES)
def test_toml_value_round_trips(value) -> None:
    assert tomllib.loads(f"v = {toml_value(value)}")["v"] == value


@given(st.dictionaries(KEYS, VALUES, max_size=4),
       st.dictionaries(KEYS, st.dictionaries(KEYS, VALUES, max_size=3), max_size=3),
       st.lists(st.dictionaries(KEYS, VALUES, min_size=1, max_size=3), min_size=1, max_size=3))
def test_toml_document_round_trips(top, tables, rows) -> None:
    data = {**{f"k{key}": value for key, value in top.items()},
            **{f"t{name}": table for name, table in tables.items()}, "rows": rows}
    assert tomllib.loads(toml_document(data)) == data


def test_toml_document_leaves_out_none_and_refuses_the_unwritable() -> None:
    assert tomllib.loads(toml_document({"a": None, "b": 1})) == {"b": 1}
    with pytest.raises(TypeError, match="cannot write a set"):
        toml_value({1})


class Refused(ValueError):
    pass


def test_toml_and_language_files_fail_with_one_line_naming_the_file() -> None:
    from evy.files import parse_language_file, parse_toml

    with pytest.raises(Refused, match=r"^x\.toml: not valid TOML: .*line 1") as info:
        parse_toml("a = = 1", "x.toml", Refused)
    assert "\n" not in str(info.value)
    with pytest.raises(Refused, match=r"^not valid TOML"):
        parse_toml("[a", "", Refused)
    assert parse_language_file('language = "sw"\nx = 1', "sw", "sw.toml", Refused) == {"language": "sw", "x": 1}
    with pytest.raises(Refused, match=r"^sw\.toml: `language` must be 'sw'$"):
        parse_language_file('language = "en"', "sw", "sw.toml", Refused)
