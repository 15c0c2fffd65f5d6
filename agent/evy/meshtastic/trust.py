"""How far the kit trusts a Meshtastic message, from how it arrived.

Channel traffic is encrypted with a shared key but not authenticated: anyone with the key can claim any
sender id. A direct message that fails PKI decryption falls back to the channel key, so only a packet the
firmware flags ``pki_encrypted`` proves its sender holds that node's private key. Hence:

- channel: opens or updates the sender's own case, nothing else; commands in it are read as plain text;
- direct (no PKI): as a channel message, except HELP (it changes nothing);
- pki: the sender's own state too (STOP, START, JOIN, LEAVE act on that node id only);
- operator: a PKI message from an allow-listed public key; it may use operator commands.

The level travels with the message in the store's ``encoding`` column (``meshtastic:<level>``): it says how
the text was carried, as ``gsm7``/``ucs2`` do for SMS.
"""

from __future__ import annotations

from enum import StrEnum

PREFIX = "meshtastic:"


class Trust(StrEnum):
    CHANNEL = "channel"
    DIRECT = "direct"
    PKI = "pki"
    OPERATOR = "operator"

    @property
    def encoding(self) -> str:
        return PREFIX + self.value


def trust_of(encoding: str) -> Trust | None:
    """The trust of a stored message, or None for an SMS."""
    if not encoding.startswith(PREFIX):
        return None
    return Trust(encoding.removeprefix(PREFIX))


def may_use(encoding: str, command: str) -> bool:
    """Whether a message that arrived this way may use ``command`` (an SMS may use every one)."""
    trust = trust_of(encoding)
    if trust is None or trust in (Trust.PKI, Trust.OPERATOR):
        return True
    return trust is Trust.DIRECT and command == "help"  # a Command; HELP changes nothing


def classify(*, to_kit: bool, pki_encrypted: bool, public_key: str, operator_keys: tuple[str, ...]) -> Trust:
    if not to_kit:
        return Trust.CHANNEL
    if not pki_encrypted:
        return Trust.DIRECT
    return Trust.OPERATOR if public_key and public_key in operator_keys else Trust.PKI
