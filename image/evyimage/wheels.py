"""Offline Python installs into the image without running pip (or anything) under emulation.

A wheel is a zip whose install is defined by the wheel spec: unpack it into site-packages, move ``*.data/``
parts to their schemes, and make launchers for its console scripts. That is all done on the host here.
"""

from __future__ import annotations

import configparser
import re
import shutil
import sys
import zipfile
from pathlib import Path

from evyimage.errors import StageError
from evyimage.progress import BuildLog

PREFIX = Path("usr/local")
AARCH64_PLATFORMS = ("manylinux_2_17_aarch64", "manylinux2014_aarch64", "manylinux_2_28_aarch64",
                     "linux_aarch64")
_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(.+)$")


def python_version(tree: Path) -> str:
    """'3.13' for the image's python3 (from /usr/lib/python3.N)."""
    versions = sorted((p.name for p in (tree / "usr/lib").glob("python3.*") if (p / "os.py").exists()),
                      key=lambda name: int(name.split(".")[1]))
    if not versions:
        raise StageError(f"no Python 3 in the image tree {tree} (is python3 in base.packages?)")
    return versions[-1].removeprefix("python")


def site_packages(tree: Path) -> Path:
    return tree / PREFIX / "lib" / f"python{python_version(tree)}" / "dist-packages"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def find_downloaded(requirement: str, downloads: Path) -> Path | None:
    match = _REQUIREMENT.match(requirement)
    if not match:
        return None
    name, version = _normalise(match.group(1)), match.group(2)
    for wheel in sorted(downloads.glob("*.whl")):
        parts = wheel.name.split("-")
        if _normalise(parts[0]) == name and parts[1] == version:
            return wheel
    return None


def download(requirement: str, downloads: Path, log: BuildLog, *, any_platform: bool = False,
             python: str = "3.13") -> Path:
    """The wheel for a pinned requirement, downloaded for aarch64 (or any platform) unless already here."""
    downloads.mkdir(parents=True, exist_ok=True)
    found = find_downloaded(requirement, downloads)
    if found:
        return found
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
               "--disable-pip-version-check", "-d", downloads, requirement]
    if not any_platform:
        command += ["--python-version", python, "--implementation", "cp", "--abi", f"cp{python.replace('.', '')}",
                    "--abi", "abi3", "--abi", "none"]
        for platform in AARCH64_PLATFORMS:
            command += ["--platform", platform]
    log.run(command)
    found = find_downloaded(requirement, downloads)
    if not found:
        raise StageError(f"pip download {requirement} gave no matching wheel in {downloads}")
    return found


def unpack(wheel: Path, site: Path) -> list[Path]:
    """Unpack a wheel's files into a directory (no scheme handling); returns the files written."""
    site.mkdir(parents=True, exist_ok=True)
    written = []
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            if member.is_dir():
                continue
            target = (site / member.filename).resolve()
            if not target.is_relative_to(site.resolve()):
                raise StageError(f"{wheel.name}: member {member.filename} escapes the install directory")
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, target.open("wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
            mode = (member.external_attr >> 16) & 0o777
            target.chmod(0o755 if mode & 0o111 else 0o644)
            written.append(target)
    return written


def install(wheel: Path, tree: Path, log: BuildLog) -> list[Path]:
    """Install a wheel into the image tree under /usr/local; returns the installed files."""
    site = site_packages(tree)
    files = unpack(wheel, site)
    installed: list[Path] = []
    for path in files:
        rel = path.relative_to(site)
        top = rel.parts[0]
        if top.endswith(".data") and len(rel.parts) > 2:
            scheme, rest = rel.parts[1], Path(*rel.parts[2:])
            base = {"purelib": site, "platlib": site, "scripts": tree / PREFIX / "bin",
                    "data": tree / PREFIX, "headers": tree / PREFIX / "include"}.get(scheme)
            if base is None:
                raise StageError(f"{wheel.name}: unknown wheel data scheme {scheme}")
            destination = base / rest
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, destination)
            installed.append(destination)
        else:
            installed.append(path)
    for data_dir in site.glob("*.data"):
        shutil.rmtree(data_dir)
    dist_info = next((p for p in site.glob("*.dist-info") if (p / "WHEEL").exists()
                      and _normalise(p.name.split("-")[0]) == _normalise(wheel.name.split("-")[0])), None)
    if dist_info is not None:
        (dist_info / "INSTALLER").write_text("evy-image\n", encoding="utf-8")
        installed += write_console_scripts(dist_info, tree)
    log.note(f"installed {wheel.name}: {len(installed)} files")
    return installed


def write_console_scripts(dist_info: Path, tree: Path) -> list[Path]:
    entry_points = dist_info / "entry_points.txt"
    if not entry_points.exists():
        return []
    parser = configparser.ConfigParser(delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(entry_points, encoding="utf-8")
    if not parser.has_section("console_scripts"):
        return []
    written = []
    for name, target in parser.items("console_scripts"):
        module, _, attribute = target.strip().partition(":")
        script = tree / PREFIX / "bin" / name
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(
            "#!/usr/bin/python3\n"
            "import sys\n"
            f"from {module} import {attribute.split('.')[0]}\n"
            f"sys.exit({attribute}())\n", encoding="utf-8")
        script.chmod(0o755)
        written.append(script)
    return written
