"""SIGKILL a real `evy run` with a Meshtastic node attached (the twin, driven by the real library) at each step
between a direct message arriving and its reply being acknowledged; restart it and prove the node got exactly
one reply: every part shown once by the receiving node, none missing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("meshtastic")

from evy.meshtastic.split import join_parts
from evy.meshtastic.twin import MeshtasticTwin
from evy.sms.simulator import ModemSimulator
from evy.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

ALICE = 0xA1B2C3D4


def start_agent(config: Path, crash_at: str | None = None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "EVY_CRASH_AT"}
    if crash_at:
        env["EVY_CRASH_AT"] = crash_at
    return subprocess.Popen([sys.executable, "-m", "evy", "run", "--config", str(config)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_until(predicate, timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


@pytest.mark.parametrize("point", ["after_receive", "after_store", "after_reply_queued", "during_send",
                                   "after_send"])
def test_a_kill_at_each_step_still_answers_a_direct_message_exactly_once(tmp_path, point):
    sim = ModemSimulator().start()
    with MeshtasticTwin() as twin:
        twin.add_node(ALICE, "Alice")
        config = tmp_path / "evy.toml"
        config.write_text(f'country = "KE"\ndata_dir = "{tmp_path}"\n[modem]\nport = "{sim.port}"\n'
                          "command_timeout = 2.0\nretry_backoff = 0.05\n[brain]\nfollowup = false\n"
                          f'[meshtastic]\nenabled = true\nport = "{twin.port}"\nmax_text_bytes = 80\n')
        try:
            agent = start_agent(config, crash_at=point)
            wait_until(lambda: twin.configs >= 1, what="the agent never attached to the node")
            twin.direct(ALICE, "help the water is rising fast")
            assert agent.wait(timeout=30) == -signal.SIGKILL, f"no crash at {point}: {agent.stderr.read()}"
            agent = start_agent(config)
            if point == "after_receive":  # killed before the store had it: lost, so Alice sends it again
                wait_until(lambda: twin.configs >= 2, what="the restarted agent never attached")
                twin.direct(ALICE, "help the water is rising fast")
            with Store.open(tmp_path / "evy.db") as store:
                wait_until(lambda: store.db.execute("SELECT 1 FROM outbox WHERE state = 'sent'").fetchone(),
                           what="the restarted agent never finished the reply")
                [(text,)] = store.db.execute("SELECT text FROM outbox").fetchall()
                [(sender,)] = store.db.execute("SELECT sender FROM messages").fetchall()
            time.sleep(1.0)  # a duplicate would leave now
            agent.send_signal(signal.SIGTERM)
            assert agent.wait(timeout=15) == 0, agent.stderr.read()
            shown = twin.texts_to(ALICE)
            print(f"meshtastic-crash {point}: parts shown={len(shown)} resent={twin.duplicates}")
            assert sender == "!a1b2c3d4" and join_parts(shown) == text, "one reply, each part shown once"
        finally:
            if agent.poll() is None:
                agent.kill()
            sim.stop()
