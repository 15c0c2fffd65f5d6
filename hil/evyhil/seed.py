"""The per-kit seed file the harness puts on the card's boot partition, as a field team would.

The image applies it once at first boot (hostname, SSH key, country, modem PIN, mesh key) and then wipes
the secrets from the FAT partition; the suite checks both. Each run makes a fresh seed with its own
hostname and SSH key, so a card left over from an earlier run cannot pass by accident.
"""

from __future__ import annotations

import secrets
import subprocess
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import SeedError

SECRET_FIELDS = ("mesh_key", "modem_pin", "wifi_psk")


@dataclass(frozen=True)
class KitSeed:
    hostname: str
    country: str
    ssh_authorized_keys: list[str]
    mesh_key: str  # 32 hex digits: the LoRa mesh's AES key
    modem_pin: str = ""  # empty: the SIM has no PIN (the simulated one has none)
    wifi_country: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def secrets(self) -> dict[str, str]:
        """The values that must not stay on the FAT partition after first boot."""
        return {name: value for name, value in asdict(self).items() if name in SECRET_FIELDS and value}

    def to_toml(self) -> str:
        lines = ["# EVY per-kit seed: applied once at first boot; secrets are then wiped from this file."]
        for name, value in asdict(self).items():
            if name == "extra" or value in ("", []):
                continue
            lines.append(f"{name} = {_toml_value(value)}")
        lines += [f"{key} = {_toml_value(value)}" for key, value in self.extra.items()]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, text: str) -> KitSeed:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SeedError(f"seed file is not TOML: {exc}") from exc
        known = {name for name in cls.__dataclass_fields__ if name != "extra"}
        missing = {"hostname", "country", "ssh_authorized_keys", "mesh_key"} - data.keys()
        if missing:
            raise SeedError(f"seed file lacks {', '.join(sorted(missing))}")
        extra = {key: str(value) for key, value in data.items() if key not in known}
        return cls(**{key: value for key, value in data.items() if key in known}, extra=extra)


def _toml_value(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def make_test_seed(workdir: Path, country: str) -> tuple[KitSeed, Path]:
    """A fresh seed plus the private SSH key whose public half it carries (``workdir/id_ed25519``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    key = workdir / "id_ed25519"
    key.unlink(missing_ok=True)
    key.with_suffix(".pub").unlink(missing_ok=True)
    tag = secrets.token_hex(3)
    try:
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"evy-hil-{tag}", "-f", str(key)],
                       check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SeedError(f"ssh-keygen could not make the seed's test key: {exc}") from exc
    seed = KitSeed(
        hostname=f"evy-hil-{tag}",
        country=country,
        ssh_authorized_keys=[key.with_suffix(".pub").read_text().strip()],
        mesh_key=secrets.token_hex(16),
    )
    return seed, key
