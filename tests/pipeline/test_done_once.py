"""Each thing once, through the real pipeline (pty simulator, real SQLite, the brain over a real keyword-only
knowledge base): a message is triaged once from its arrival to its follow-up, each reply is compressed
once, and a part read back from the outbox is decoded only if a backend asks for its fields. The counters
wrap the real functions; nothing is replaced."""

from __future__ import annotations

import functools
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import evy.compress.core
import evy.pipeline.conversation
import evy.pipeline.sender
import evy.responder.brain
import evy.triage
from evy.config import parse
from evy.pipeline.kit import SimulatedKit, join_replies
from evy.responder.brain import BrainResponder
from evy.responder.knowledge import Knowledge
from evy.sms import pdu

pytestmark = pytest.mark.timeout(120)

PHONE = "+254711000111"
FLOOD = "flooding in our street, what should we do"  # an emergency: a protocol reply, then a retrieved follow-up
KIT = 'country = "KE"\nresponder = "brain"\n[rag]\nembed_model = ""\n'


def count_calls(monkeypatch: pytest.MonkeyPatch, name: str, modules: list, calls: list) -> None:
    """Put one counting wrapper around the real function ``name`` wherever the pipeline looks it up."""
    real = next(getattr(module, name) for module in modules if hasattr(module, name))

    @functools.wraps(real)
    def counted(*args, **kwargs):
        calls.append((args, kwargs, sys._getframe(1).f_code))
        return real(*args, **kwargs)

    for module in modules:
        monkeypatch.setattr(module, name, counted, raising=False)


@pytest.fixture
def kit(tmp_path: Path):
    """A kit whose brain follows an emergency up with knowledge-base text (no model)."""
    config = parse(KIT).replace(data_dir=str(tmp_path))
    opened = Knowledge(config, use_model=False)
    assert opened.wait(time.monotonic() + 60)
    brain = BrainResponder(config, knowledge=Knowledge(config, index=opened._index, use_model=False))

    def start() -> SimulatedKit:
        return SimulatedKit(KIT, data_dir=tmp_path, engine=brain)

    return start


def reply_texts(kit: SimulatedKit, count: int) -> list[str]:
    kit.replies(count, timeout=30)
    time.sleep(0.3)  # anything more would leave now
    return [reply.text for reply in join_replies(list(kit.sim.sent))]


def test_a_message_is_triaged_once_from_its_arrival_to_its_follow_up(kit, monkeypatch):
    calls: list = []
    count_calls(monkeypatch, "triage", [evy.triage, evy.pipeline.conversation, evy.responder.brain], calls)
    with kit() as running:
        running.sim.deliver(PHONE, FLOOD)
        assert len(reply_texts(running, 2)) == 2, "a reply and its follow-up"
    on_the_message = [call for call in calls if call[0] and call[0][0] == FLOOD]
    assert len(on_the_message) == 1, Counter(code.co_name for _, _, code in on_the_message)


def test_each_reply_is_compressed_once(kit, monkeypatch):
    calls: list = []
    count_calls(monkeypatch, "compress", [evy.compress.core, evy.pipeline.sender, evy.pipeline.conversation,
                                          evy.responder.brain], calls)
    with kit() as running:
        running.sim.deliver(PHONE, FLOOD)
        running.sim.deliver("+254711000222", "hello, who is this")
        texts = reply_texts(running, 3)
    assert len(texts) == 3  # an emergency's protocol step and its follow-up; a greeting's answer
    assert len(calls) == len(texts), Counter(code.co_name for _, _, code in calls)


def test_a_part_sent_by_at_commands_is_never_decoded_by_the_agent(kit, monkeypatch):
    """The AT modem sends the stored hex; only the simulated network on the far side reads it."""
    calls: list = []
    count_calls(monkeypatch, "decode", [pdu], calls)
    with kit() as running:
        running.sim.deliver(PHONE, "we are trapped on the roof of the school with the children " * 3)
        assert reply_texts(running, 1)
    by_the_agent = [code for _, _, code in calls
                    if "pipeline" in Path(code.co_filename).parts or code.co_name == "message"]
    assert by_the_agent == []
    assert any(code.co_name != "message" for _, _, code in calls), "the counter saw the simulator's decodes"


def test_a_part_read_back_from_the_outbox_is_decoded_once_when_a_backend_asks(monkeypatch):
    calls: list = []
    count_calls(monkeypatch, "decode", [pdu], calls)
    [built] = pdu.encode_submit(PHONE, "Boil water 1 minute. Call 999 if anyone is sick.")
    assert built.message.text.startswith("Boil water") and calls == []  # built here: its fields are known
    stored = pdu.SubmitPart(hex=built.hex, tpdu_length=built.tpdu_length)
    assert calls == []
    assert stored.message == built.message and stored.message is stored.message
    assert len(calls) == 1
