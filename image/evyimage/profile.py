"""The image profile: one table of rows (key, parser, default, help) from which loading, validation and the
reference in docs/image.md are derived. Unknown keys are errors, so a typo never silently does nothing.

The rows, parsers and table are the agent's own settings machinery (:mod:`evy.config.schema`), so the image
profile and /etc/evy/evy.toml are read and documented by one implementation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evy.config.schema import REQUIRED, Setting, SettingsTable, boolean, integer, list_of, matching
from evy.config.schema import table as toml_table
from evy.files import parse_toml
from evyimage.errors import ProfileError

NAME = matching(r"[a-z0-9][a-z0-9-]{0,39}", "a name of lowercase letters, digits and dashes (≤ 40)")
HOSTNAME = matching(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", "a hostname (RFC 1123 label)")
LOCALE = matching(r"C\.UTF-8", "`C.UTF-8` (the only locale without the `locales` package)")
TIMEZONE = matching(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+){0,2}", "a tz database name like `UTC` or `Africa/Nairobi`")
SUITE = matching(r"[a-z]+", "a Debian suite name like `trixie`")
ARCH = matching(r"arm64", "`arm64` (the Pi 4 image is 64-bit)")
URL = matching(r"https?://[^\s\"']+", "an http(s) URL")
COMPONENT = matching(r"[a-z-]+", "an archive component like `main`")
PACKAGE = matching(r"[a-z0-9][a-z0-9+.-]+", "a Debian package name")
MODULE = matching(r"[a-z0-9_-]+", "a kernel module name")
REPO_DIR = matching(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*", "a folder relative to the repository")
MODEL = matching(r"[a-z0-9][a-z0-9._-]{0,63}", "a model name from models.lock")
WHEEL = matching(r"[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!_-]+", "a pinned requirement `NAME==VERSION`")
VERSION = matching(r"[0-9]+(\.[0-9]+)*", "a version like 0.3.36")


FIELDS: tuple[Setting, ...] = (
    Setting("image.name", NAME, REQUIRED, "Image name: out/NAME.img and friends."),
    Setting("image.hostname", HOSTNAME, "evy", "Hostname until the seed file sets another."),
    Setting("image.locale", LOCALE, "C.UTF-8", "System locale."),
    Setting("image.timezone", TIMEZONE, "UTC", "System timezone."),
    Setting("image.test_login", boolean, False,
            "Test images only: root may log in on the serial console without a password."),
    Setting("base.suite", SUITE, "trixie", "Debian suite."),
    Setting("base.architecture", ARCH, "arm64", "Target architecture."),
    Setting("base.mirror", URL, "http://deb.debian.org/debian", "Debian mirror."),
    Setting("base.components", list_of(COMPONENT, min_items=1), ("main", "non-free-firmware"),
            "Archive components (raspi-firmware and firmware-brcm80211 are in non-free-firmware)."),
    Setting("base.security_mirror", matching(r"(https?://[^\s\"']+)?", "an http(s) URL or empty"),
            "http://deb.debian.org/debian-security", "Security mirror; empty to leave it out."),
    Setting("base.packages", list_of(PACKAGE, min_items=1), REQUIRED, "Packages apt installs."),
    Setting("base.initramfs_modules", list_of(MODULE, min_items=1), REQUIRED,
            "Kernel modules in the initramfs (MODULES=list); must include `overlay`."),
    Setting("partitions.boot_mib", integer(64, 1024), 256, "FAT boot partition size in MiB."),
    Setting("partitions.root_mib", integer(0, 65536), 0, "Root partition size in MiB; 0 = content + headroom."),
    Setting("partitions.root_headroom_mib", integer(0, 8192), 256, "Free space added to an auto-sized root."),
    Setting("partitions.data_mib", integer(16, 65536), 512,
            "Data partition size in MiB (grown to fill the card at first boot)."),
    Setting("overlays.dirs", list_of(REPO_DIR), ("overlays/rootfs",),
            "Overlay folders laid over the root in order; text files are rendered with {{ name }} variables."),
    Setting("agent.models", list_of(MODEL), (), "Model names from models.lock copied into the image."),
    Setting("agent.wheels", list_of(WHEEL), (), "Pinned wheels installed offline (aarch64)."),
    Setting("agent.llama_cpp_python", matching(r"([0-9]+(\.[0-9]+)*)?", "a version or empty"), "",
            "llama-cpp-python version; its llama.cpp is cross-compiled for armv8-a. Empty: no local LLM."),
    Setting("agent.config", toml_table, {}, "The agent's /etc/evy/evy.toml as a TOML table."),
)

TABLE = SettingsTable(FIELDS, ProfileError, noun="key")
SECTIONS = TABLE.sections
# Packages the pipeline depends on; a profile without them would build an image that silently misbehaves.
REQUIRED_PACKAGES = ("linux-image-arm64", "raspi-firmware", "initramfs-tools", "overlayroot", "e2fsprogs",
                     "busybox", "systemd-sysv", "login", "openssh-server", "python3")


@dataclass(frozen=True)
class Profile:
    """A validated profile; ``values`` maps every key of FIELDS to its parsed value."""

    path: Path
    values: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def name(self) -> str:
        return self.values["image.name"]


def parse(data: Mapping[str, Any], origin: Path) -> Profile:
    """Validate a decoded profile. Raises ProfileError naming the file and key."""
    for section, values in data.items():
        if section not in SECTIONS:
            raise ProfileError(f"{origin}: [{section}]: unknown section (known: {', '.join(SECTIONS)})")
        if not isinstance(values, Mapping):
            raise ProfileError(f"{origin}: {section}: expected a table, got {type(values).__name__}")
    values = TABLE.read(data, f"{origin}: ")
    _check_consistency(values, origin)
    return Profile(origin, values)


def _check_consistency(values: Mapping[str, Any], origin: Path) -> None:
    missing = [p for p in REQUIRED_PACKAGES if p not in values["base.packages"]]
    if missing:
        raise ProfileError(f"{origin}: base.packages: missing required package(s) {', '.join(missing)}")
    if "overlay" not in values["base.initramfs_modules"]:
        raise ProfileError(f"{origin}: base.initramfs_modules: must include `overlay` (read-only root)")
    if values["image.timezone"] != "UTC" and "tzdata" not in values["base.packages"]:
        raise ProfileError(f"{origin}: image.timezone: {values['image.timezone']} needs `tzdata` in packages")
    if values["agent.llama_cpp_python"] and "libgomp1" not in values["base.packages"]:
        raise ProfileError(f"{origin}: agent.llama_cpp_python: llama.cpp needs `libgomp1` in base.packages")


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read profile: {exc.strerror}") from exc
    return parse_toml(text, str(path), ProfileError)


def merge(parent: Mapping[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    """Child tables override the parent's key by key; ``agent.config`` tables merge one level deeper."""
    merged: dict[str, Any] = {section: dict(table) if isinstance(table, Mapping) else table
                              for section, table in parent.items()}
    for section, table in child.items():
        if isinstance(table, Mapping) and isinstance(merged.get(section), dict):
            for key, value in table.items():
                old = merged[section].get(key)
                if isinstance(value, Mapping) and isinstance(old, Mapping):
                    merged[section][key] = merge(old, value)
                else:
                    merged[section][key] = value
        else:
            merged[section] = table
    return merged


def load(path: Path | str, _seen: tuple[Path, ...] = ()) -> Profile:
    """Read and validate a profile file. ``extends = "field"`` at the top starts from another profile."""
    path = Path(path)
    data = _read(path)
    parent = data.pop("extends", None)
    if parent is not None:
        if not isinstance(parent, str):
            raise ProfileError(f"{path}: extends: expected a profile name, got {type(parent).__name__}")
        parent_path = resolve(parent, path.parent)
        if parent_path.resolve() in _seen or parent_path.resolve() == path.resolve():
            raise ProfileError(f"{path}: extends: {parent} extends itself (cycle)")
        base = load(parent_path, (*_seen, path.resolve()))
        data = merge(_unflatten(base.values), data)
    return parse(data, path)


def _unflatten(values: Mapping[str, Any]) -> dict[str, Any]:
    tables: dict[str, Any] = {}
    for key, value in values.items():
        section, _, name = key.partition(".")
        tables.setdefault(section, {})[name] = list(value) if isinstance(value, tuple) else value
    return tables


def resolve(name_or_path: str, profiles_dir: Path) -> Path:
    """`field` → image/profiles/field.toml; a path is taken as is."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or "/" in name_or_path:
        return candidate
    path = profiles_dir / f"{name_or_path}.toml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in profiles_dir.glob("*.toml")))
        raise ProfileError(f"profile {name_or_path!r} not found (known: {known})")
    return path


def reference_markdown() -> str:
    """The profile reference table for docs/image.md, derived from FIELDS."""
    return TABLE.reference_markdown()
