"""Stage 1: the base root filesystem from mmdebstrap (arm64 through qemu-user on x86-64), cached as a tarball
keyed by everything that goes into it, with the downloaded .debs kept in an apt archive cache."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from evyimage.profile import Profile
from evyimage.progress import BuildLog

HOOKS_DIR = Path(__file__).resolve().parent.parent / "hooks"
ESSENTIAL_HOOK = HOOKS_DIR / "base-essential.sh"
# Bump when the way the base is made changes in a way the key doesn't see.
BASE_FORMAT = 2
# Documentation and translations are dead weight on a kit nobody reads man pages on; copyright files stay.
DPKG_OPTIONS = (
    "path-exclude=/usr/share/man/*", "path-exclude=/usr/share/doc/*", "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*", "path-include=/usr/share/locale/locale.alias",
    "path-exclude=/usr/share/info/*", "path-exclude=/usr/share/lintian/*",
)


@dataclass(frozen=True)
class BaseRoot:
    tarball: Path
    packages: dict[str, str]  # package → version, as dpkg has them installed
    cached: bool


def sources(profile: Profile) -> list[str]:
    suite, components = profile["base.suite"], " ".join(profile["base.components"])
    lines = [f"deb {profile['base.mirror']} {suite} {components}",
             f"deb {profile['base.mirror']} {suite}-updates {components}"]
    if profile["base.security_mirror"]:
        lines.append(f"deb {profile['base.security_mirror']} {suite}-security {components}")
    return lines


def cache_key(profile: Profile) -> str:
    """Changes exactly when the base root would: suite, mirrors, packages, modules, the hook, the format."""
    material = {
        "format": BASE_FORMAT,
        "arch": profile["base.architecture"],
        "sources": sources(profile),
        "packages": sorted(profile["base.packages"]),
        "modules": sorted(profile["base.initramfs_modules"]),
        "hook": ESSENTIAL_HOOK.read_text(encoding="utf-8"),
        "dpkg": DPKG_OPTIONS,
    }
    digest = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
    return f"{profile['base.suite']}-{profile['base.architecture']}-{digest[:16]}"


def mmdebstrap_command(profile: Profile, target: Path, apt_cache: Path, versions_file: Path) -> list[str]:
    modules = " ".join(profile["base.initramfs_modules"])
    command = [
        "mmdebstrap", "--mode=root", "--format=tar", "--variant=apt", f"--arch={profile['base.architecture']}",
        f"--components={','.join(profile['base.components'])}",
        f"--include={','.join(profile['base.packages'])}",
        "--aptopt=Acquire::Retries \"3\"",
        *(f"--dpkgopt={option}" for option in DPKG_OPTIONS),
        # apt archive cache: .debs in before download, out again after (see mmdebstrap(1), "sync-in")
        "--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives/",
        f"--setup-hook=sync-in '{apt_cache}' /var/cache/apt/archives/",
        f"--essential-hook=EVY_INITRAMFS_MODULES='{modules}' sh '{ESSENTIAL_HOOK}' \"$1\"",
        f"--customize-hook=sync-out /var/cache/apt/archives '{apt_cache}'",
        f"--customize-hook=chroot \"$1\" dpkg-query -W -f='${{Package}}\\t${{Version}}\\n' > '{versions_file}'",
        "--skip=download/empty",
        profile["base.suite"], str(target), *sources(profile),
    ]
    return command


def build_base(profile: Profile, cache_dir: Path, log: BuildLog, *, rebuild: bool = False) -> BaseRoot:
    """Return the cached base tarball for this profile, building it first if needed."""
    key = cache_key(profile)
    base_dir = cache_dir / "base"
    tarball, versions_file = base_dir / f"{key}.tar", base_dir / f"{key}.packages"
    if tarball.exists() and versions_file.exists() and not rebuild:
        log.say(f"base root from cache ({tarball.name})")
        return BaseRoot(tarball, read_versions(versions_file), cached=True)
    apt_cache = cache_dir / "apt-archives"
    (apt_cache / "partial").mkdir(parents=True, exist_ok=True)
    base_dir.mkdir(parents=True, exist_ok=True)
    partial_tar, partial_versions = tarball.with_suffix(".tar.partial"), versions_file.with_suffix(".partial")
    log.say(f"building base root {key} with mmdebstrap "
            "(under qemu-user: ~8 min on an idle 2-core host, much longer on a busy one)")
    log.run(mmdebstrap_command(profile, partial_tar, apt_cache, partial_versions))
    partial_versions.replace(versions_file)
    partial_tar.replace(tarball)
    _prune(base_dir, keep=key)
    return BaseRoot(tarball, read_versions(versions_file), cached=False)


def read_versions(path: Path) -> dict[str, str]:
    versions = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, _, version = line.partition("\t")
        if name and version:
            versions[name] = version
    return versions


def _prune(base_dir: Path, keep: str, limit: int = 3) -> None:
    """Keep the newest few base tarballs (each is ~1 GB)."""
    tarballs = sorted(base_dir.glob("*.tar"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in tarballs[limit:]:
        if old.stem != keep:
            old.unlink()
            old.with_suffix(".packages").unlink(missing_ok=True)


def extract(tarball: Path, tree: Path, log: BuildLog) -> None:
    """Unpack the base into a fresh work tree (as root, so ownership and modes are kept)."""
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    log.run(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf", tarball, "-C", tree])
