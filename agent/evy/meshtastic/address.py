"""Meshtastic node ids as EVY addresses: ``!`` and 8 lowercase hex digits, never a phone number.

The store, the guards, the rate limit, the loop breaker, cases and the outbox all key on the sender's address;
a node id can never be read as a phone number (it starts with ``!``), so the two transports never mix.
"""

from __future__ import annotations

import re

_NODE_ID = re.compile(r"^![0-9a-f]{8}$")


def is_node_id(address: str) -> bool:
    return bool(_NODE_ID.match(address))


def node_id(num: int) -> str:
    if not 0 <= num <= 0xFFFFFFFF:
        raise ValueError(f"a Meshtastic node number is 32 bits, got {num}")
    return f"!{num:08x}"


def node_num(address: str) -> int:
    if not is_node_id(address):
        raise ValueError(f"not a Meshtastic node id (! and 8 hex digits): {address!r}")
    return int(address[1:], 16)


BROADCAST_ID = "!ffffffff"  # Meshtastic's broadcast address as a node id: the outbox recipient of channel broadcasts
