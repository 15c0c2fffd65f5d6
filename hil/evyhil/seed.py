"""The per-kit seed file the harness puts on the card's boot partition, as a field team would.

Its format is the image's (overlays/rootfs/usr/lib/evy-image/firstboot.py): ``hostname``, ``country``,
``ssh_authorized_keys``, ``[modem] pin``, ``[mesh] key`` (and ``[wifi]``, which the harness leaves off so
an emulated board without Wi-Fi stays healthy). First boot applies it once and wipes the secrets from the
FAT partition; the suite checks both. Each run makes a fresh seed with its own hostname, SSH key and
mesh key, so a card left over from an earlier run cannot pass by accident.
"""

from __future__ import annotations

import secrets
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

from evy.files import toml_document
from evy.mesh.keys import KEY_BYTES

from .errors import SeedError


@dataclass(frozen=True)
class KitSeed:
    hostname: str
    country: str
    ssh_authorized_keys: tuple[str, ...]
    mesh_key: str  # the LoRa mesh's network key as hex digits, in the agent's format (evy.mesh.keys)
    modem_pin: str = ""  # empty: the SIM has no PIN (the simulated one has none)

    def secrets(self) -> dict[str, str]:
        """The values that must not stay on the FAT partition after first boot."""
        found = {"mesh.key": self.mesh_key, "modem.pin": self.modem_pin}
        return {name: value for name, value in found.items() if value}

    def to_toml(self) -> str:
        seed: dict[str, object] = {"hostname": self.hostname, "country": self.country,
                                   "ssh_authorized_keys": list(self.ssh_authorized_keys)}
        if self.modem_pin:
            seed["modem"] = {"pin": self.modem_pin}
        seed["mesh"] = {"key": self.mesh_key}
        return "# EVY per-kit seed: applied once at first boot; its secrets are then wiped.\n" + toml_document(seed)

    @classmethod
    def from_toml(cls, text: str) -> KitSeed:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SeedError(f"seed file is not TOML: {exc}") from exc
        missing = [key for key in ("hostname", "country", "ssh_authorized_keys") if key not in data]
        if "key" not in data.get("mesh", {}):
            missing.append("mesh.key")
        if missing:
            raise SeedError(f"seed file lacks {', '.join(missing)}")
        return cls(hostname=data["hostname"], country=data["country"],
                    ssh_authorized_keys=tuple(data["ssh_authorized_keys"]), mesh_key=data["mesh"]["key"],
                    modem_pin=data.get("modem", {}).get("pin", ""))


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
        ssh_authorized_keys=(key.with_suffix(".pub").read_text().strip(),),
        mesh_key=secrets.token_hex(KEY_BYTES),
    )
    return seed, key
