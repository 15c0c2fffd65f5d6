"""One way in: `evy run` and the simulated kit (`evy sim`, the tests) build the agent with the same function,
in dependency order, and close each part once, newest first."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evy.mesh.keys import generate_key_file
from evy.pipeline.kit import SimulatedKit
from evy.power import PowerError
from evy.sms.simulator import ModemSimulator
from evy.sms.simulator.network import deliver_parts
from evy.store import StoreError

pytestmark = pytest.mark.timeout(90)

# Newest first: what the agent needs last is closed first; the store, opened before READY, closes last.
CLOSING_ORDER = ["mesh link", "responder", "power monitor", "modem", "store"]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mesh_kit(directory: Path) -> str:
    """A kit on the mesh: its own key, the UDP radio twin on loopback, a peer that never answers."""
    key = generate_key_file(directory / "mesh.key")
    return (f'country = "KE"\n[brain]\nfollowup = false\n[power]\nsource = "sim"\nsim_battery = 55\n'
            f'[mesh]\nenabled = true\nradio = "udp"\nkey_file = "{key}"\n'
            f'udp_bind = "127.0.0.1:{free_udp_port()}"\nudp_peers = ["127.0.0.1:{free_udp_port()}"]\n')


def closings(lines: list[str]) -> list[str]:
    return [line.partition("closing the ")[2].strip() for line in lines if "closing the " in line]


def test_a_kit_with_the_mesh_enabled_joins_it_and_shares_one_power_monitor(tmp_path):
    sim = ModemSimulator(registered=False)
    for _, pdu in deliver_parts("+254711000001", "there is a fire in the market"):
        sim.store(pdu)  # it arrived before the kit lost coverage
    with SimulatedKit(mesh_kit(tmp_path), sim=sim) as kit:
        mesh = kit.agent.mesh
        assert mesh is not None, "the kit runs the field wiring: the mesh link is started"
        assert mesh.power is kit.agent.responder.power, "one monitor, read by the brain and the mesh"
        deadline = time.monotonic() + 30
        while mesh.queue_depth != 1:  # no coverage and no kit to hand it to: the reply waits
            assert time.monotonic() < deadline, "the agent never reported its outbox to the mesh"
            time.sleep(0.05)
        beacon = mesh._beacon()
        assert (beacon.battery_pct, beacon.queue_depth, beacon.cellular) == (55, 1, False)


def test_every_part_is_closed_once_newest_first(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="evy.run")
    with SimulatedKit(mesh_kit(tmp_path)) as kit:
        monitor, modem, store = kit.agent.mesh.power, kit.modem, kit.store
    assert closings([r.getMessage() for r in caplog.records]) == CLOSING_ORDER
    assert not modem.is_open
    with pytest.raises(PowerError, match="before open"):
        monitor.source.read()
    with pytest.raises(StoreError, match="not open"):
        store.db.execute("SELECT 1")


def test_evy_run_builds_and_closes_the_same_parts_as_the_kit(tmp_path, caplog):
    """The same assembly in both: a real `evy run` logs the same parts closing, in the same order."""
    sim = ModemSimulator().start()
    config = tmp_path / "evy.toml"
    config.write_text(mesh_kit(tmp_path).replace('country = "KE"\n', f'country = "KE"\ndata_dir = "{tmp_path}"\n'
                                                 'log_level = "debug"\n')
                      + f'[modem]\nport = "{sim.port}"\n')
    agent = subprocess.Popen([sys.executable, "-m", "evy", "run", "--config", str(config)],
                             stderr=subprocess.PIPE, text=True, env={**os.environ, "NOTIFY_SOCKET": ""})
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "mesh" / "state.json").exists():  # the mesh node is up: the last part built
            assert time.monotonic() < deadline and agent.poll() is None, "the agent did not join the mesh"
            time.sleep(0.1)
        sim.deliver("+254711000001", "there is a fire in the market")
        while not sim.sent:
            assert time.monotonic() < deadline, "no reply"
            time.sleep(0.1)
    finally:
        agent.send_signal(signal.SIGTERM)
        _, stderr = agent.communicate(timeout=30)
        sim.stop()
    assert agent.returncode == 0, stderr
    assert closings(stderr.splitlines()) == CLOSING_ORDER


OFF_THE_MESH = """
import sys
from evy.pipeline.kit import SimulatedKit
with SimulatedKit('country = "KE"\\n[brain]\\nfollowup = false\\n') as kit:
    kit.sim.deliver("+254711000001", "my child has a high fever")
    kit.replies(1, timeout=30)
    print(" ".join(m for m in ("asyncio", "cryptography", "construct", "evy.mesh.node") if m in sys.modules))
"""


def test_a_kit_off_the_mesh_answers_without_importing_it():
    """The mesh (asyncio, its crypto, its frame codec) is imported only by a kit that joins it: every other
    kit gets to its first answer without paying for it."""
    result = subprocess.run([sys.executable, "-c", OFF_THE_MESH], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == []
