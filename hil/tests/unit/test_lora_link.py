"""The HIL LoRa check (evyhil.lora) on two local kits joined by the UDP radio twin on loopback.

Each kit is a shell on this machine with its own agent config, network key file and node state, driven with
the very steps hil/tests/test_06_lora.py runs on two real kits: if the CLI those steps call changes, this
fails in CI.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from evyhil.kit import KitCommandError
from evyhil.lora import LoraCheckError, LoraEnd, check_link

AGENT = Path(__file__).resolve().parents[3] / "agent"
EVY = f"{sys.executable} -m evy"


class LocalKit:
    """A kit's shell on this machine: `sh -c` with the agent's package importable."""

    def __init__(self) -> None:
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(AGENT),
                                                                               os.environ.get("PYTHONPATH")]))}

    def run(self, command: str, timeout: float = 60.0) -> str:
        result = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=timeout,
                                env=self.env)
        if result.returncode != 0:
            raise KitCommandError(f"`{command}` exited {result.returncode}: {result.stderr.strip()[-300:]}")
        return result.stdout


def free_udp_ports(count: int) -> list[int]:
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def new_key(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "evy", "mesh", "keygen", str(path)], check=True, capture_output=True,
                   env=LocalKit().env, timeout=60)
    return path


def local_end(directory: Path, key: Path, port: int, peer_port: int) -> LoraEnd:
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "evy.toml"
    config.write_text(
        f'data_dir = "{directory / "data"}"\n\n[mesh]\nenabled = true\nkey_file = "{key}"\nradio = "udp"\n'
        f'udp_bind = "127.0.0.1:{port}"\nudp_peers = ["127.0.0.1:{peer_port}"]\nspreading_factor = 7\n'
        "beacon_interval = 0\n")
    return LoraEnd(LocalKit(), evy=EVY, node_args=f"--config {config}", scratch=str(directory))


@pytest.mark.slow
def test_a_message_from_one_kit_is_received_authenticated_by_the_other(tmp_path):
    key = new_key(tmp_path / "mesh.key")
    port_a, port_b = free_udp_ports(2)
    kit = local_end(tmp_path / "kit", key, port_a, port_b)
    peer = local_end(tmp_path / "peer", key, port_b, port_a)
    result = check_link(kit, peer, "hil lora check", timeout=60)
    assert result.sent["delivered"] is True and result.received["body"]["text"] == "hil lora check"
    assert result.received["source"] == result.sender_node != result.receiver_node
    assert '"event": "stopped"' in (tmp_path / "peer" / "evy-lora-listen.jsonl").read_text()


@pytest.mark.slow
def test_a_kit_with_another_network_key_hears_nothing(tmp_path):
    port_a, port_b = free_udp_ports(2)
    kit = local_end(tmp_path / "kit", new_key(tmp_path / "ours.key"), port_a, port_b)
    stranger = local_end(tmp_path / "peer", new_key(tmp_path / "theirs.key"), port_b, port_a)
    with pytest.raises(LoraCheckError, match="no ACK"):
        check_link(kit, stranger, "not for you", timeout=5)
    listened = (tmp_path / "peer" / "evy-lora-listen.jsonl").read_text()
    assert '"event": "message"' not in listened and "not for you" not in listened
