"""A kit in a network namespace of its own, its backhaul a veth pair to the broker's side: the link is cut
(the veth taken down, so packets vanish instead of being refused) while the kit keeps writing events, then
restored; every event reaches the cell exactly once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

import pytest

from evy.fleet.broker import LocalBroker, mosquitto_binary

from .conftest import LOGINS, Cell, evy_process, wait_for, write_config
from .test_fleet_processes import check_exactly_once, wait_until_drained_to

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.timeout(240)]


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def backhaul():
    """(namespace, host-side interface, broker address): 10.231.x.1 on the host, 10.231.x.2 in the kit's ns."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2")
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (invoke setup)")
    tag = os.getpid() % 250 + 1
    namespace, host_side, kit_side = f"evyfleet{tag}", f"evyf{tag}h", f"evyf{tag}k"
    ip("netns", "add", namespace)
    try:
        ip("link", "add", host_side, "type", "veth", "peer", "name", kit_side)
        ip("link", "set", kit_side, "netns", namespace)
        ip("addr", "add", f"10.231.{tag}.1/30", "dev", host_side)
        ip("link", "set", host_side, "up")
        ip("-n", namespace, "addr", "add", f"10.231.{tag}.2/30", "dev", kit_side)
        ip("-n", namespace, "link", "set", kit_side, "up")
        ip("-n", namespace, "link", "set", "lo", "up")
        yield namespace, host_side, f"10.231.{tag}.1"
    finally:
        subprocess.run(["ip", "link", "del", host_side], capture_output=True)
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True)


def test_a_cut_and_restored_backhaul_loses_nothing_and_stores_nothing_twice(tmp_path, backhaul):
    namespace, host_side, address = backhaul
    with LocalBroker(tmp_path / "broker", logins=LOGINS, host=address) as broker:
        cell = Cell(tmp_path, broker)
        cell.start()
        try:
            data_dir = tmp_path / "kit-ns"
            data_dir.mkdir()
            config = write_config(data_dir / "kit.toml", broker, "kit-ns", data_dir)
            kit = evy_process("-m", "evy.fleet.simkit", "--config", str(config), "--cases", "120", "--every", "0.1",
                              prefix=("ip", "netns", "exec", namespace))
            wait_for(lambda: len(cell.ids("kit-ns")) >= 20, what="the first events over the veth")
            ip("link", "set", host_side, "down")  # the backhaul goes: no RST, packets just vanish
            cut_at = len(cell.ids("kit-ns"))
            assert kit.stdout.readline().strip() == "generated 120"  # written while the link is cut
            assert len(cell.ids("kit-ns")) < cut_at + 50
            ip("link", "set", host_side, "up")
            assert kit.stdout.readline().strip() == "drained"
            kit.send_signal(signal.SIGTERM)
            assert kit.wait(20) == 0
            wait_until_drained_to(cell, data_dir, "kit-ns")
            check_exactly_once(cell, data_dir, "kit-ns")
        finally:
            if cell.process is not None and cell.process.poll() is None:
                cell.kill(signal.SIGTERM)
