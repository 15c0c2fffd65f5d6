"""The HIL LoRa check (evyhil.lora) on two local kits joined by the UDP radio twin on loopback.

Each kit is a shell on this machine with its own agent config, network key file and node state, driven with
the very steps hil/tests/test_06_lora.py runs on two real kits: if the CLI those steps call changes, this
fails in CI.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from evyhil.kit import KitCommandError
from evyhil.lora import LoraCheckError, LoraEnd, TwinLink, check_link

AGENT = Path(__file__).resolve().parents[3] / "agent"
EVY = f"{sys.executable} -m evy"


class LocalKit:
    """A kit's shell on this machine: `sh -c` with the agent's package importable (in network namespace
    ``netns`` if given)."""

    def __init__(self, netns: str = "") -> None:
        self.prefix = ["ip", "netns", "exec", netns] if netns else []
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(AGENT),
                                                                               os.environ.get("PYTHONPATH")]))}

    def run(self, command: str, timeout: float = 60.0) -> str:
        result = subprocess.run([*self.prefix, "sh", "-c", command], capture_output=True, text=True, timeout=timeout,
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


def local_end(directory: Path, key: Path, port: int, peer_port: int, kit: LocalKit | None = None) -> LoraEnd:
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "evy.toml"
    config.write_text(
        f'data_dir = "{directory / "data"}"\n\n[mesh]\nenabled = true\nkey_file = "{key}"\nradio = "udp"\n'
        f'udp_bind = "127.0.0.1:{port}"\nudp_peers = ["127.0.0.1:{peer_port}"]\nspreading_factor = 7\n'
        "beacon_interval = 0\n")
    return LoraEnd(kit or LocalKit(), evy=EVY, node_args=f"--config {config}", scratch=str(directory))


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


LINK = "52:54:00:e5:01:01=10.99.1.1/24 52:54:00:e5:01:02=10.99.1.2/24"


@pytest.fixture
def cable():
    """Two network namespaces (two kits without a radio) joined by a veth pair with the link's MACs: the
    virtual cable between two QEMU guests, on this machine's kernel."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2 for network namespaces")
    names = [f"evy-lora-{secrets.token_hex(3)}-{side}" for side in ("a", "b")]
    macs = [mac for mac, _ in TwinLink.parse(LINK).ends]
    try:
        for name in names:
            subprocess.run(["ip", "netns", "add", name], check=True)
        subprocess.run(["ip", "link", "add", "evylora0", "netns", names[0], "address", macs[0], "type", "veth",
                        "peer", "name", "evylora1", "netns", names[1], "address", macs[1]], check=True)
        yield names
    finally:
        for name in names:
            subprocess.run(["ip", "netns", "delete", name], check=False)


def test_twin_link_names_two_ends_as_mac_and_address():
    link = TwinLink.parse(LINK.upper().replace("/24", "/24"))
    assert link.ends == (("52:54:00:e5:01:01", "10.99.1.1/24"), ("52:54:00:e5:01:02", "10.99.1.2/24"))
    with pytest.raises(LoraCheckError, match="is not MAC=ADDRESS/PREFIX"):
        TwinLink.parse("52:54:00:e5:01:01=10.99.1.1 52:54:00:e5:01:02=10.99.1.2/24")
    with pytest.raises(LoraCheckError, match="names 1 ends"):
        TwinLink.parse("52:54:00:e5:01:01=10.99.1.1/24")


def test_connect_finds_the_cable_by_mac_and_brings_it_up_once(cable):
    kit = LocalKit(cable[0])
    link = TwinLink.parse(LINK)
    args = link.connect(kit, 0)
    assert args == "--radio udp --udp-bind 10.99.1.1:47700 --udp-peer 10.99.1.2:47700 --sf 7"
    assert link.connect(kit, 0) == args  # a second call (a rerun on a booted kit) changes nothing
    shown = kit.run("ip -o addr show dev evylora0")
    assert shown.count("10.99.1.1/24") == 1 and "UP" in kit.run("ip -o link show dev evylora0")
    with pytest.raises(LoraCheckError, match="no network interface with MAC 52:54:00:e5:01:02"):
        link.connect(kit, 1)


@pytest.mark.slow
def test_two_kits_without_a_radio_talk_over_the_twin_on_the_cable(tmp_path, cable):
    key = new_key(tmp_path / "mesh.key")
    link = TwinLink.parse(LINK)
    ends = []
    for index, (name, netns) in enumerate(zip(("kit", "peer"), cable, strict=True)):
        end = local_end(tmp_path / name, key, 1, 2, kit=LocalKit(netns))  # the config's loopback radio is overridden
        ends.append(LoraEnd(end.kit, evy=end.evy, node_args=end.node_args, scratch=end.scratch,
                            radio_args=link.connect(end.kit, index)))
    result = check_link(*ends, "over the cable", timeout=60)
    assert result.sent["delivered"] is True and result.received["body"]["text"] == "over the cable"
    assert result.received["source"] == result.sender_node != result.receiver_node
