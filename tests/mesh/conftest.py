from __future__ import annotations

import random
import socket

import pytest

from evy.mesh.frames import Frame, Header, Kind, Priority, seal
from evy.mesh.keys import NetworkKey

SECRET = bytes(range(1, 17))


@pytest.fixture
def key() -> NetworkKey:
    return NetworkKey.from_secret(SECRET)


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "mesh.key"
    path.write_text("# test network\n" + SECRET.hex() + "\n")
    return path


def make_frame(key: NetworkKey, *, source: int = 0xE5000001, destination: int = 0xE5000002, packet_id: int = 7,
               kind: Kind = Kind.SMS_RELAY, body: bytes = b"\x05+2547hello", hop_limit: int = 3,
               message_id: int = 1, index: int = 0, count: int = 1) -> bytes:
    header = Header(kind, destination, source, packet_id, hop_limit, 3, True, Priority.ROUTINE,
                    key.network_id, 0, source & 0xFF)
    return seal(Frame(header, message_id, index, count, body), key)


@pytest.fixture
def rng() -> random.Random:
    return random.Random(4)


def free_udp_ports(n: int) -> list[int]:
    """``n`` loopback UDP ports free a moment ago (bound together, so all different)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports
