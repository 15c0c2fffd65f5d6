"""bigEVY between two real agents: `evy run` as a small kit (no model of its own) and `evy run` as a big node
(`offload.serve`, the second pinned model), each with a simulated modem, over the UDP radio twin on loopback."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evy.config import load
from evy.health import collect
from evy.mesh.keys import generate_key_file
from evy.metrics.collector import render
from evy.pipeline.kit import join_replies
from evy.sms.simulator import ModemSimulator
from evy.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ASKING = "+254711000111"
IN_DANGER = "+254722000222"
ROUTINE = "how can I make water safe without fuel?"
EMERGENCY = "my father collapsed and is not breathing, help"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def node_config(directory: Path, modem: str, key: Path, bind: int, peer: int, models_dir: Path, extra: str) -> Path:
    directory.mkdir()
    config = directory / "evy.toml"
    config.write_text(
        f'country = "KE"\ndata_dir = "{directory}"\n[modem]\nport = "{modem}"\nstatus_reports = false\n'
        f'[llm]\nmodels_dir = "{models_dir}"\nthreads = 1\ntimeout = 90.0\n[rag]\nembed_model = ""\n'
        f'[mesh]\nenabled = true\nradio = "udp"\nkey_file = "{key}"\nudp_bind = "127.0.0.1:{bind}"\n'
        f'udp_peers = ["127.0.0.1:{peer}"]\nbeacon_interval = 1.0\nspreading_factor = 7\n'
        f"[health]\nsnapshot_interval = 5.0\n{extra}")
    return config


def replies_to(sim: ModemSimulator, number: str) -> list:
    return [r for r in join_replies(list(sim.sent)) if r.recipient == number and r.complete]


def wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        time.sleep(0.1)


def test_a_small_kit_answers_with_the_big_nodes_model_and_an_emergency_never_waits_for_it(tmp_path, models_dir):
    key = generate_key_file(tmp_path / "mesh.key")
    kit_modem, big_modem = ModemSimulator().start(), ModemSimulator().start()
    kit_port, big_port = free_udp_port(), free_udp_port()
    kit_config = node_config(tmp_path / "kit", kit_modem.port, key, kit_port, big_port, models_dir, "")
    big_config = node_config(tmp_path / "big", big_modem.port, key, big_port, kit_port, models_dir,
                             "[offload]\nserve = true\ntimeout = 80.0\n")
    agents = [subprocess.Popen([sys.executable, "-m", "evy", "run", "--config", str(c)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True) for c in (kit_config, big_config)]
    try:
        def big_node_heard() -> bool:  # as the kit's console shows it: a neighbour offering its model
            with Store.open(tmp_path / "kit" / "evy.db") as store:
                mesh = collect(store, load(kit_config)).mesh
            return mesh is not None and any(n.big_model for n in mesh.neighbours)

        wait_for(big_node_heard, 90)
        assert big_node_heard()
        kit_modem.deliver(ASKING, ROUTINE)
        wait_for(lambda: replies_to(kit_modem, ASKING), 30)
        asked_at = time.monotonic()
        kit_modem.deliver(IN_DANGER, EMERGENCY)  # while the kit waits for the big node's answer
        wait_for(lambda: replies_to(kit_modem, IN_DANGER), 30)
        emergency_after = time.monotonic() - asked_at
        wait_for(lambda: len(replies_to(kit_modem, ASKING)) == 2 and len(replies_to(kit_modem, IN_DANGER)) == 2, 100)
        first, follow_up = replies_to(kit_modem, ASKING)
        emergency, emergency_follow_up = replies_to(kit_modem, IN_DANGER)
        assert "999" in emergency.text and emergency_after < 10
        assert "boil" in follow_up.text.lower() and follow_up.text not in first.text
        # Nor does the emergency's own follow-up (knowledge-base text) queue behind the wait for the big node.
        order = [reply.text for reply in join_replies(list(kit_modem.sent))]
        assert order.index(emergency_follow_up.text) < order.index(follow_up.text)

        def kit_metrics() -> bytes:  # as Prometheus scrapes the kit, from its latest health snapshot
            with Store.open(tmp_path / "kit" / "evy.db") as store:
                return render(store, load(kit_config))

        wait_for(lambda: b'evy_offload_answers_total{outcome="in_time"} 1.0' in kit_metrics(), 20)
        assert b"evy_offload_asked_total 1.0" in kit_metrics()
        assert not big_modem.sent, "the big node sent no SMS of its own"
    finally:
        for agent in agents:
            agent.send_signal(signal.SIGTERM)
        logs = []
        for agent in agents:
            try:
                logs.append(agent.communicate(timeout=20)[1])
            except subprocess.TimeoutExpired:
                agent.kill()
                logs.append(agent.communicate()[1])
        kit_modem.stop()
        big_modem.stop()
    kit_log, big_log = logs
    assert "dropped an offload answer" not in kit_log
    answered = [line for line in big_log.splitlines() if "offload request" in line]
    assert len(answered) == 1 and "answered" in answered[0], big_log[-2000:]  # the routine question only
