"""The network key: read from a key file, never built in. Without a configured key a kit does not join.

A key file holds ``KEY_BYTES`` random bytes as hex digits (``evy mesh keygen FILE`` writes one); blank lines
and ``#`` comments are allowed. The length is declared once, in ``key_format.json`` beside this module, which
the image's first boot reads as data (it checks a seeded key before the agent ever runs).

Two values are derived from it with HKDF-SHA256: the AES-128 key and the 16-bit network id hash that lets a
receiver drop other networks' frames before trying to decrypt them.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from evy.mesh.errors import KeyFileError

KEY_FORMAT = json.loads(resources.files("evy.mesh").joinpath("key_format.json").read_text(encoding="utf-8"))
KEY_BYTES: int = KEY_FORMAT["bytes"]


def _derive(secret: bytes, label: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=b"evy-mesh-v1", info=label).derive(secret)


@dataclass(frozen=True)
class NetworkKey:
    aead_key: bytes
    network_id: int  # 16-bit hash carried in every header

    @classmethod
    def from_secret(cls, secret: bytes) -> NetworkKey:
        if len(secret) != KEY_BYTES:
            raise KeyFileError(f"a network key is {KEY_BYTES} bytes, got {len(secret)}")
        if secret == bytes(KEY_BYTES) or len(set(secret)) == 1:
            raise KeyFileError("the network key is a constant byte pattern; generate one with `evy mesh keygen`")
        return cls(_derive(secret, b"aead", 16), int.from_bytes(_derive(secret, b"network-id", 2), "little"))

    @classmethod
    def load(cls, path: str | Path | None) -> NetworkKey:
        if path in (None, ""):
            raise KeyFileError("no mesh key configured (mesh.key_file); refusing to join a mesh without one")
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as exc:
            raise KeyFileError(f"cannot read mesh key file {path}: {exc.strerror or exc}") from exc
        lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
        digits = "".join(lines).replace(":", "").replace(" ", "")
        try:
            secret = bytes.fromhex(digits)
        except ValueError:
            raise KeyFileError(f"mesh key file {path} must hold {KEY_BYTES * 2} hex digits") from None
        if len(secret) != KEY_BYTES:
            raise KeyFileError(f"mesh key file {path} holds {len(secret)} bytes; expected {KEY_BYTES}")
        return cls.from_secret(secret)


def generate_key_file(path: str | Path) -> Path:
    """Write a fresh random key readable only by its owner; never overwrites an existing file."""
    path = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        fd = os.open(path, flags, stat.S_IRUSR | stat.S_IWUSR)
    except FileExistsError:
        raise KeyFileError(f"{path} exists; refusing to overwrite a network key") from None
    except OSError as exc:
        raise KeyFileError(f"cannot create {path}: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "w") as handle:
        handle.write("# EVY mesh network key: copy to every kit of this mesh, keep it secret\n")
        handle.write(secrets.token_bytes(KEY_BYTES).hex() + "\n")
    return path
