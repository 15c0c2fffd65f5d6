"""Files on the ground floor: written whole or not at all, hashed, and TOML read and written.

Standard library only and importing nothing else of evy, so every layer of the agent and the image builder on
the host (``image/evyimage``) share these one copies. ``firstboot.py`` on the image keeps its own small TOML
writer on purpose: it runs before the agent is known to work (see its docstring).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

_BLOCK = 1 << 20
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


# --- hashing ----------------------------------------------------------------------------------------------


def sha256_stream(stream: BinaryIO) -> tuple[str, int]:
    """The sha256 (hex) and the number of bytes of what is left in a binary stream."""
    digest, size = hashlib.sha256(), 0
    while block := stream.read(_BLOCK):
        digest.update(block)
        size += len(block)
    return digest.hexdigest(), size


def sha256_file(path: Path | str) -> str:
    with open(path, "rb") as stream:
        return sha256_stream(stream)[0]


# --- writing whole files ----------------------------------------------------------------------------------


@contextmanager
def replacing(path: Path | str, mode: int | None = None) -> Iterator[Path]:
    """A temporary path beside ``path`` that takes its place when the block ends without an error.

    A crash or an exception leaves the old file (or none) and no temporary file, never half a new one. What
    is written to the temporary path must be flushed to disk by the writer (see :func:`atomic_write`).
    ``mode`` sets the new file's permissions; without it the file is private to its owner (0600).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def atomic_write(path: Path | str, data: str | bytes, mode: int | None = None) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` durably: a crash leaves the old file or the new, never a mix."""
    with replacing(path, mode) as temporary, open(temporary, "wb") as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        handle.flush()
        os.fsync(handle.fileno())


# --- TOML in ----------------------------------------------------------------------------------------------


def parse_toml(text: str, where: str, error: type[Exception]) -> dict[str, Any]:
    """TOML text as a table; bad TOML raises ``error`` with one line that names ``where`` (a file, or "")."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{where}: not valid TOML: {exc}" if where else f"not valid TOML: {exc}") from None


def parse_language_file(text: str, language: str, where: str, error: type[Exception]) -> dict[str, Any]:
    """A data file for one language (triage's lexicon, the protocols): TOML whose ``language`` says which."""
    data = parse_toml(text, where, error)
    if data.get("language") != language:
        raise error(f"{where}: `language` must be {language!r}")
    return data


# --- TOML out (tomllib only reads) ------------------------------------------------------------------------


def toml_value(value: Any) -> str:
    """One TOML value: a boolean, number, string (or path), or a list or inline table of those."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | os.PathLike):
        # JSON's string escapes are all valid in a TOML basic string; DEL is the one character TOML wants
        # escaped that JSON leaves alone.
        return json.dumps(os.fspath(value), ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write a {type(value).__name__} as a TOML value")


def toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else toml_value(key)  # not .match: its $ passes a final newline


def toml_document(data: Mapping[str, Any]) -> str:
    """A TOML document: the plain keys first, then a ``[table]`` for each mapping (nested ones as
    ``[table.sub]``) and ``[[name]]`` tables for each list of mappings. ``None`` values are left out."""
    lines: list[str] = []
    _table_lines(data, (), lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _table_lines(data: Mapping[str, Any], path: tuple[str, ...], lines: list[str]) -> None:
    def is_table_list(value: Any) -> bool:
        return isinstance(value, list | tuple) and bool(value) and all(isinstance(v, Mapping) for v in value)

    lines += [f"{toml_key(key)} = {toml_value(value)}" for key, value in data.items()
              if value is not None and not isinstance(value, Mapping) and not is_table_list(value)]
    for key, value in data.items():
        header = ".".join(toml_key(part) for part in (*path, key))
        if isinstance(value, Mapping):
            lines += ["", f"[{header}]"]
            _table_lines(value, (*path, key), lines)
        elif is_table_list(value):
            for item in value:
                lines += ["", f"[[{header}]]"]
                _table_lines(item, (*path, key), lines)
