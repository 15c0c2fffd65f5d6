"""The Meshtastic gateway end to end: the real `meshtastic` library drives the twin node on a real pty, the
agent answers through the same store, guards and responder as SMS."""

from __future__ import annotations

import re
import time

import pytest

pytest.importorskip("meshtastic")

from evy.meshtastic.split import join_parts
from evy.meshtastic.twin import MeshtasticTwin
from evy.pipeline.kit import SimulatedKit

pytestmark = pytest.mark.timeout(90)

ALICE = 0xA1B2C3D4
BOB = 0xB0B0B0B0
NO_LLM = 'country = "KE"\n[brain]\nfollowup = false\n'


def meshtastic_config(twin: MeshtasticTwin, extra: str = "") -> str:
    return NO_LLM + f'[meshtastic]\nenabled = true\nport = "{twin.port}"\nack_timeout = 5.0\n{extra}'


@pytest.fixture
def twin():
    with MeshtasticTwin() as twin:
        twin.add_node(ALICE, "Alice")
        twin.add_node(BOB, "Bob")
        yield twin


def attached(kit: SimulatedKit, timeout: float = 15.0) -> SimulatedKit:
    deadline = time.monotonic() + timeout
    while not kit.agent.meshtastic.connected:
        assert time.monotonic() < deadline, f"the gateway never attached: {kit.agent.meshtastic.last_error}"
        time.sleep(0.05)
    return kit


def answer_to(twin: MeshtasticTwin, node: int, count: int = 1) -> str:
    """Wait until ``count`` whole replies reached ``node``; the last one, its parts joined."""
    def whole() -> list[str]:
        parts = twin.texts_to(node)
        done, current = [], []
        for part in parts:
            current.append(part)
            match = re.match(r"^\((\d+)/(\d+)\) ", part)
            if match is None or match.group(1) == match.group(2):
                done.append(join_parts(current))
                current = []
        return done
    twin.wait_for(lambda: len(whole()) >= count)
    return whole()[-1]


def quiet(seconds: float = 1.0) -> None:
    time.sleep(seconds)


def test_a_direct_message_is_answered_once_by_direct_message_with_want_ack(twin):
    with SimulatedKit(meshtastic_config(twin)) as kit:
        attached(kit)
        twin.direct(ALICE, "help the water is rising fast")
        reply = answer_to(twin, ALICE)
        quiet()
        assert "999" in reply and join_parts(twin.texts_to(ALICE)) == reply, "each part shown once"
        assert all(p.want_ack and p.to == "!a1b2c3d4" for p in twin.sent)
        assert not kit.sim.sent, "nothing went out by SMS"
        [(sender, state)] = kit.store.db.execute("SELECT sender, state FROM messages").fetchall()
        assert (sender, state) == ("!a1b2c3d4", "handled")
        [(state,)] = kit.store.db.execute("SELECT state FROM outbox").fetchall()
        assert state == "sent", "closed on the recipient's ACK"
