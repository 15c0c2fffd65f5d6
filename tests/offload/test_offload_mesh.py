"""bigEVY over the UDP radio twin on loopback: a small kit's brain asks a big node (a real mesh link serving the
second pinned model) for routine follow-ups; late, wrong and unauthenticated answers are dropped; an
emergency never asks and never waits."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evy.config import Config
from evy.mesh.keys import generate_key_file
from evy.mesh.messages import Beacon, OffloadRequest, OffloadResponse
from evy.mesh.node import MeshNode, Message
from evy.mesh.service import open_node
from evy.messages import Inbound
from evy.pipeline.meshlink import MeshLink
from evy.responder.brain import BrainResponder

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PHONE = "+254711000111"
ROUTINE = "how can I make water safe without fuel?"
DEADLINE = 90.0  # the follow-up's deadline (llm.timeout, 20 s by default): generous, the test machine is shared
WAIT = 10.0  # seconds the kit waits in the cases below: a loaded test machine delays the twin's frames
EMERGENCY = "my father collapsed and is not breathing, help"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def inbound(text: str) -> Inbound:
    return Inbound(1, PHONE, text, datetime.now(UTC))


class Mesh:
    """Nodes on one loopback mesh: every node hears every other (the peer list is the radio range)."""

    def __init__(self, tmp_path: Path, config_for, models_dir: Path, size: int):
        self.tmp_path, self.config_for, self.models_dir = tmp_path, config_for, models_dir
        self.key = generate_key_file(tmp_path / "mesh.key")
        self.ports = [free_udp_port() for _ in range(size)]

    def config(self, index: int, key: Path | None = None, **settings: object) -> Config:
        directory = self.tmp_path / f"node{index}"
        directory.mkdir(exist_ok=True)
        peers = [f"127.0.0.1:{port}" for i, port in enumerate(self.ports) if i != index]
        return self.config_for(directory, country="KE", llm__models_dir=self.models_dir, llm__threads=1,
                               rag__embed_model="", mesh__enabled=True, mesh__radio="udp",
                               mesh__key_file=key or self.key, mesh__udp_bind=f"127.0.0.1:{self.ports[index]}",
                               mesh__udp_peers=peers, mesh__beacon_interval=1.0, mesh__spreading_factor=7,
                               **settings)


class ScriptedPeer:
    """A real mesh node (with the network key, or another) whose answers the test writes: what a slow,
    confused or hostile node on the mesh could send."""

    def __init__(self, config: Config, big: bool = True):
        self.requests: list[Message] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        beacon = Beacon(battery_pct=255, queue_depth=0, cellular=False, big_model=big)
        self.node: MeshNode = self.call(lambda: open_node(config, self.loop, on_message=self.requests.append,
                                                          beacon=lambda: beacon))

    def call(self, fn):
        async def run():
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=10)

    def answer(self, kit: int, request_id: int, text: str) -> None:
        self.call(lambda: self.node.send(kit, OffloadResponse(request_id, text)))

    def stop(self) -> None:
        if not self.thread.is_alive():
            return
        self.call(self.node.stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        time.sleep(0.1)
    assert condition()


@pytest.fixture
def mesh(tmp_path, config_for, models_dir) -> Mesh:
    return Mesh(tmp_path, config_for, models_dir, 3)


def start_kit(mesh: Mesh, **settings: object) -> tuple[MeshLink, BrainResponder]:
    config = mesh.config(0, **settings)
    link = MeshLink(config, coverage=lambda: False)
    link.start()
    brain = BrainResponder(config)
    brain.offload_to(link)
    brain.warm()
    return link, brain


def test_a_routine_question_gets_the_big_nodes_vetted_answer_within_the_deadline(mesh):
    big = MeshLink(mesh.config(1, offload__serve=True, offload__timeout=DEADLINE), coverage=lambda: False)
    big.start()
    kit, brain = start_kit(mesh)  # no local model: without the big node no model answer at all
    try:
        wait_for(kit.available)
        message = inbound(ROUTINE)
        first = brain.respond(message)
        assert first.wants_followup and not first.emergency
        started = time.monotonic()
        reply = brain.follow_up(message, first, started + DEADLINE)
        took = time.monotonic() - started
        assert reply is not None and took < DEADLINE
        assert big.server.answered == 1 and kit.offloads.in_time == 1 and not kit.offloads.dropped
        assert "boil" in reply.text.lower() and "999" not in reply.text
    finally:
        brain.close()
        kit.stop()
        big.stop()


def offload_requests(peer: ScriptedPeer) -> list[Message]:
    return [m for m in list(peer.requests) if isinstance(m.decoded(), OffloadRequest)]


def answer_when_asked(peer: ScriptedPeer, kit: int, text: str, *, delay: float = 0.0, request_offset: int = 0,
                      via: ScriptedPeer | None = None) -> threading.Thread:
    """Answer the next offload request ``delay`` seconds after it arrives (``via`` another node, if given)."""
    seen = len(offload_requests(peer))

    def run() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(offload_requests(peer)) == seen:
            time.sleep(0.02)
        request = offload_requests(peer)[seen]
        time.sleep(delay)
        (via or peer).answer(kit, request.message_id + request_offset, text)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def grounded_text(brain: BrainResponder) -> str:
    """An answer that passes the kit's vetting: the knowledge base's own passage (every word and number
    grounded, and new to the first reply)."""
    passages = brain.knowledge.search(ROUTINE, k=3, language="en", deadline=time.monotonic() + 30)
    return passages[0].text


def test_wrong_unvetted_and_unauthenticated_answers_are_dropped_and_a_valid_one_is_used(mesh, tmp_path):
    peer = ScriptedPeer(mesh.config(1))
    forger = ScriptedPeer(mesh.config(2, key=generate_key_file(tmp_path / "other.key")))
    kit, brain = start_kit(mesh)
    try:
        wait_for(kit.available)
        message = inbound(ROUTINE)
        first = brain.respond(message)
        valid = grounded_text(brain)
        # (name, the peer's answer, how long the kit waits): an answer that arrives ends the wait at once, so
        # those get the whole deadline; the kit waits WAIT for the two that never count as an answer.
        cases = [("wrong request id", dict(text=valid, request_offset=1), WAIT),
                 ("claims an action", dict(text="We have sent an ambulance to you; it will be there soon."), DEADLINE),
                 ("names another number", dict(text=f"{valid} Or call +254700000001 for clean water."), DEADLINE),
                 ("unauthenticated", dict(text=valid, via=forger), WAIT)]
        for name, answer, wait in cases:
            answer_when_asked(peer, kit.node_id, **answer)
            started = time.monotonic()
            assert brain.follow_up(message, first, started + wait) is None, name
            assert time.monotonic() - started < wait + 5, name
        assert kit.offloads.dropped == {"wrong_request": 1}
        assert kit.node_counters()["foreign"] >= 1  # the forger's frames never reach the kit's application
        forger.stop()  # its unacknowledged retries would collide with the answer below on the shared channel
        answer_when_asked(peer, kit.node_id, valid)
        reply = brain.follow_up(message, first, time.monotonic() + DEADLINE)
        assert reply is not None and reply.text == valid
        assert kit.offloads.in_time == 3  # the two the vetting refused, and this one
        assert len(offload_requests(peer)) == len(cases) + 1
    finally:
        brain.close()
        kit.stop()
        forger.stop()
        peer.stop()


def test_a_late_answer_is_dropped_and_the_local_model_answers_instead(mesh):
    peer = ScriptedPeer(mesh.config(1))
    kit, brain = start_kit(mesh, llm__enabled=True, offload__wait=2.0)
    try:
        wait_for(kit.available)
        message = inbound(ROUTINE)
        first = brain.respond(message)
        valid = grounded_text(brain)
        assert brain.knowledge.model_memory_mb == 0  # the local model has not run yet
        answer_when_asked(peer, kit.node_id, valid, delay=3.0)  # after the kit's 2 s wait
        reply = brain.follow_up(message, first, time.monotonic() + DEADLINE)
        assert reply is None or reply.text != valid
        assert brain.knowledge.model_memory_mb > 0  # the local model answered (vetted as always)
        wait_for(lambda: kit.offloads.dropped == {"late": 1}, timeout=10)
        assert kit.offloads.in_time == 0
    finally:
        brain.close()
        kit.stop()
        peer.stop()


def test_an_emergency_never_asks_and_never_waits_for_a_big_node(mesh):
    peer = ScriptedPeer(mesh.config(1))  # a big node that would never answer: asking it would cost the wait
    kit, brain = start_kit(mesh, offload__wait=30.0)
    try:
        wait_for(kit.available)
        message = inbound(EMERGENCY)
        started = time.monotonic()
        first = brain.respond(message)
        assert first.emergency and "999" in first.text and time.monotonic() - started < 1
        brain.follow_up(message, first, time.monotonic() + DEADLINE)
        assert time.monotonic() - started < 10  # the knowledge base's passage, not a wait for the big node
        time.sleep(1)
        assert offload_requests(peer) == [] and kit.offloads.in_time == 0 and not kit.offloads.dropped
    finally:
        brain.close()
        kit.stop()
        peer.stop()
