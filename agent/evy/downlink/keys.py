"""Ed25519 keys of the downlink: the public keys pinned in the image (``fleet.downlink_keys``) that a kit
trusts, and the cell's private key that signs (given to `evy hq send` by path, never committed).

The pinned-keys file has one key a line, ``ed25519 <base64 of the 32-byte public key> [comment]``; ``#``
starts a comment. A key is named by its fingerprint: the first 16 hex digits of the sha256 of its 32 bytes.
``cryptography`` is imported here only, so the agent runs without it while the downlink is off.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path
from typing import Any

from evy.downlink.envelope import Envelope
from evy.errors import EvyError
from evy.files import atomic_write

ALGORITHM = "ed25519"


class KeyFileError(EvyError):
    """A key file that cannot be used (missing, unreadable, not an Ed25519 key)."""


def fingerprint(raw_public: bytes) -> str:
    return hashlib.sha256(raw_public).hexdigest()[:16]


def _ed25519() -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise KeyFileError("the cryptography package is missing (Debian: python3-cryptography)") from None
    return ed25519


def parse_pinned(text: str, where: str) -> dict[str, Any]:
    """Fingerprint -> public key, from the pinned-keys file's text; a bad line is a one-line KeyFileError."""
    ed25519 = _ed25519()
    keys: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) < 2 or words[0] != ALGORITHM:
            raise KeyFileError(f"{where}:{number}: expected `{ALGORITHM} <base64 public key> [comment]`")
        try:
            raw = base64.b64decode(words[1], validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise KeyFileError(f"{where}:{number}: not a base64 Ed25519 public key (32 bytes)")
        keys[fingerprint(raw)] = ed25519.Ed25519PublicKey.from_public_bytes(raw)
    return keys


def load_pinned(path: Path | str) -> dict[str, Any]:
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{path}: cannot read the pinned downlink keys: {getattr(exc, 'strerror', exc)}") from None
    keys = parse_pinned(text, str(path))
    if not keys:
        raise KeyFileError(f"{path}: no downlink key pinned")
    return keys


def verifies(envelope: Envelope, public_key: Any) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        public_key.verify(envelope.sig, envelope.canonical())
    except InvalidSignature:
        return False
    return True


class SigningKey:
    """The cell's private key. ``SigningKey.load(path)`` (PKCS#8 PEM, unencrypted, as ``generate`` writes)."""

    def __init__(self, private_key: Any):
        self.private_key = private_key
        self.raw_public = _raw_public(private_key.public_key())
        self.fingerprint = fingerprint(self.raw_public)

    @classmethod
    def load(cls, path: Path | str) -> SigningKey:
        from cryptography.hazmat.primitives import serialization

        ed25519 = _ed25519()
        try:
            key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        except OSError as exc:
            raise KeyFileError(f"{path}: cannot read the signing key: {exc.strerror}") from None
        except (ValueError, TypeError) as exc:
            raise KeyFileError(f"{path}: not an unencrypted PEM private key ({exc})") from None
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise KeyFileError(f"{path}: not an Ed25519 key")
        return cls(key)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(_ed25519().Ed25519PrivateKey.generate())

    def sign(self, envelope: Envelope) -> Envelope:
        if envelope.signer != self.fingerprint:
            raise KeyFileError(f"envelope names signer {envelope.signer}, this key is {self.fingerprint}")
        return envelope.with_signature(self.private_key.sign(envelope.canonical()))

    def pinned_line(self, comment: str = "") -> str:
        """This key's line for a kit's pinned-keys file."""
        return f"{ALGORITHM} {base64.b64encode(self.raw_public).decode('ascii')} {comment}".rstrip() + "\n"

    def save(self, path: Path | str) -> None:
        """The private key at ``path`` (0600) and its pinned line at ``path``.pub."""
        from cryptography.hazmat.primitives import serialization

        pem = self.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption())
        path = Path(path)
        if path.exists():
            raise KeyFileError(f"{path}: exists; not overwriting a signing key")
        atomic_write(path, pem, mode=0o600)
        atomic_write(Path(f"{os.fspath(path)}.pub"), self.pinned_line(path.stem), mode=0o644)


def _raw_public(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
