"""The image profile: one table of rows (key, parser, default, help) from which loading, validation and the
reference in docs/image.md are derived. Unknown keys are errors, so a typo never silently does nothing."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evyimage.errors import ProfileError

Parser = Callable[[Any], Any]
REQUIRED = object()


class _Bad(ValueError):
    """A value does not parse; the loader prefixes the key."""


def _kind(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def _string(pattern: str, what: str) -> Parser:
    regex = re.compile(pattern)

    def parse(value: Any) -> str:
        if not isinstance(value, str) or not regex.fullmatch(value):
            raise _Bad(f"expected {what}, got {_kind(value)}")
        return value

    parse.__doc__ = what
    return parse


def _integer(minimum: int, maximum: int) -> Parser:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Bad(f"expected an integer, got {_kind(value)}")
        if not minimum <= value <= maximum:
            raise _Bad(f"must be from {minimum} to {maximum}, got {value}")
        return value

    parse.__doc__ = f"integer from {minimum} to {maximum}"
    return parse


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Bad(f"expected true or false, got {_kind(value)}")
    return value


_boolean.__doc__ = "true or false"


def _string_list(item: Parser, *, unique: bool = True, min_items: int = 0) -> Parser:
    def parse(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise _Bad(f"expected a list, got {_kind(value)}")
        items = []
        for index, element in enumerate(value):
            try:
                items.append(item(element))
            except _Bad as exc:
                raise _Bad(f"item {index}: {exc}") from None
        if unique and len(set(items)) != len(items):
            duplicates = sorted({i for i in items if items.count(i) > 1})
            raise _Bad(f"duplicate entries: {', '.join(duplicates)}")
        if len(items) < min_items:
            raise _Bad(f"needs at least {min_items} entr{'y' if min_items == 1 else 'ies'}")
        return tuple(items)

    parse.__doc__ = f"list of {item.__doc__}"
    return parse


def _table(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _Bad(f"expected a table, got {_kind(value)}")
    return dict(value)


_table.__doc__ = "table (written as TOML)"

NAME = _string(r"[a-z0-9][a-z0-9-]{0,39}", "a name of lowercase letters, digits and dashes (≤ 40)")
HOSTNAME = _string(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", "a hostname (RFC 1123 label)")
LOCALE = _string(r"C\.UTF-8", "`C.UTF-8` (the only locale without the `locales` package)")
TIMEZONE = _string(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+){0,2}", "a tz database name like `UTC` or `Africa/Nairobi`")
SUITE = _string(r"[a-z]+", "a Debian suite name like `trixie`")
ARCH = _string(r"arm64", "`arm64` (the Pi 4 image is 64-bit)")
URL = _string(r"https?://[^\s\"']+", "an http(s) URL")
COMPONENT = _string(r"[a-z-]+", "an archive component like `main`")
PACKAGE = _string(r"[a-z0-9][a-z0-9+.-]+", "a Debian package name")
MODULE = _string(r"[a-z0-9_-]+", "a kernel module name")
REPO_DIR = _string(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*", "a folder relative to the repository")
MODEL = _string(r"[a-z0-9][a-z0-9._-]{0,63}", "a model name from models.lock")
WHEEL = _string(r"[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!_-]+", "a pinned requirement `NAME==VERSION`")
VERSION = _string(r"[0-9]+(\.[0-9]+)*", "a version like 0.3.36")


@dataclass(frozen=True)
class Field:
    """One profile setting."""

    key: str
    parse: Parser
    default: Any
    help: str

    @property
    def section(self) -> str:
        return self.key.partition(".")[0]


FIELDS: tuple[Field, ...] = (
    Field("image.name", NAME, REQUIRED, "Image name: out/NAME.img and friends."),
    Field("image.hostname", HOSTNAME, "evy", "Hostname until the seed file sets another."),
    Field("image.locale", LOCALE, "C.UTF-8", "System locale."),
    Field("image.timezone", TIMEZONE, "UTC", "System timezone."),
    Field("image.test_login", _boolean, False,
          "Test images only: root may log in on the serial console without a password."),
    Field("base.suite", SUITE, "trixie", "Debian suite."),
    Field("base.architecture", ARCH, "arm64", "Target architecture."),
    Field("base.mirror", URL, "http://deb.debian.org/debian", "Debian mirror."),
    Field("base.components", _string_list(COMPONENT, min_items=1), ("main", "non-free-firmware"),
          "Archive components (raspi-firmware and firmware-brcm80211 are in non-free-firmware)."),
    Field("base.security_mirror", _string(r"(https?://[^\s\"']+)?", "an http(s) URL or empty"),
          "http://deb.debian.org/debian-security", "Security mirror; empty to leave it out."),
    Field("base.packages", _string_list(PACKAGE, min_items=1), REQUIRED, "Packages apt installs."),
    Field("base.initramfs_modules", _string_list(MODULE, min_items=1), REQUIRED,
          "Kernel modules in the initramfs (MODULES=list); must include `overlay`."),
    Field("partitions.boot_mib", _integer(64, 1024), 256, "FAT boot partition size in MiB."),
    Field("partitions.root_mib", _integer(0, 65536), 0, "Root partition size in MiB; 0 = content + headroom."),
    Field("partitions.root_headroom_mib", _integer(0, 8192), 256, "Free space added to an auto-sized root."),
    Field("partitions.data_mib", _integer(16, 65536), 512,
          "Data partition size in MiB (grown to fill the card at first boot)."),
    Field("overlays.dirs", _string_list(REPO_DIR), ("overlays/rootfs",),
          "Overlay folders laid over the root in order; text files are rendered with {{ name }} variables."),
    Field("agent.models", _string_list(MODEL), (), "Model names from models.lock copied into the image."),
    Field("agent.wheels", _string_list(WHEEL), (), "Pinned wheels installed offline (aarch64)."),
    Field("agent.llama_cpp_python", _string(r"([0-9]+(\.[0-9]+)*)?", "a version or empty"), "",
          "llama-cpp-python version; its llama.cpp is cross-compiled for armv8-a. Empty: no local LLM."),
    Field("agent.config", _table, {}, "The agent's /etc/evy/evy.toml as a TOML table."),
)

_BY_KEY = {f.key: f for f in FIELDS}
SECTIONS = tuple(dict.fromkeys(f.section for f in FIELDS))
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
    values: dict[str, Any] = {}
    for section, table in data.items():
        if section not in SECTIONS:
            raise ProfileError(f"{origin}: [{section}]: unknown section (known: {', '.join(SECTIONS)})")
        if not isinstance(table, Mapping):
            raise ProfileError(f"{origin}: {section}: expected a table, got {type(table).__name__}")
        for name, raw in table.items():
            key = f"{section}.{name}"
            field = _BY_KEY.get(key)
            if field is None:
                known = ", ".join(f.key.partition(".")[2] for f in FIELDS if f.section == section)
                raise ProfileError(f"{origin}: {key}: unknown key (known in [{section}]: {known})")
            try:
                values[key] = field.parse(raw)
            except _Bad as exc:
                raise ProfileError(f"{origin}: {key}: {exc}") from None
    for field in FIELDS:
        if field.key not in values:
            if field.default is REQUIRED:
                raise ProfileError(f"{origin}: {field.key}: missing (required)")
            values[field.key] = field.default
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
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from exc


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
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for f in FIELDS:
        default = "required" if f.default is REQUIRED else f"`{f.default!r}`"
        kind = (f.parse.__doc__ or "").replace("|", "\\|")
        lines.append(f"| `{f.key}` | {kind} | {default} | {f.help} |")
    return "\n".join(lines)
