"""The AI responder under the power budget, with the simulated battery and a real keyword knowledge base."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from evy import backends
from evy.config import parse
from evy.messages import Inbound
from evy.power import ResourceMonitor, open_monitor
from evy.power.sim import SimulatedSource
from evy.responder.brain import BrainResponder
from evy.responder.knowledge import Knowledge

ANSWER = ("Let muddy water settle in a bucket, pour the clear part through a clean cloth, then keep it in a "
          "covered container with a tap so hands never touch it.")


class ScriptedRuntime:
    """The model worker's interface; records calls so a test can see whether the model was asked at all."""

    def __init__(self, rss_mb: int = 0):
        self.calls: list[list[dict]] = []
        self.rss_mb = rss_mb

    def generate(self, messages, *, max_tokens, deadline):
        self.calls.append(messages)
        return ANSWER

    def worker_rss_bytes(self) -> int:
        return self.rss_mb * 2**20

    def close(self):
        pass


@pytest.fixture(scope="module")
def kb_config(tmp_path_factory):
    data = tmp_path_factory.mktemp("evy-power-kb")
    config = parse(f'data_dir = "{data}"\nresponder = "brain"\ncountry = "KE"\n[llm]\nenabled = true\n'
                   '[rag]\nembed_model = ""\n')
    opened = Knowledge(config, use_model=False)
    assert opened.wait(time.monotonic() + 120)
    yield config, opened._index
    opened.close()


@pytest.fixture
def kit(kb_config, meminfo):
    """A brain whose battery and free memory the test sets."""
    config, index = kb_config

    def make(pct: int | None, free_mb: int = 4000, rss_mb: int = 0):
        runtime = ScriptedRuntime(rss_mb)
        battery = SimulatedSource(pct)
        monitor = ResourceMonitor(battery, config, meminfo=meminfo(free_mb * 1024), max_age=0)
        brain = BrainResponder(config, knowledge=Knowledge(config, index=index, runtime=runtime), power=monitor)
        return brain, battery, runtime

    return make


def inbound(text: str) -> Inbound:
    return Inbound(message_id=1, sender="+254700000001", text=text, received_at=datetime.now(UTC))


def ask(brain: BrainResponder, text: str):
    message = inbound(text)
    first = brain.respond(message)
    return first, brain.follow_up(message, first, time.monotonic() + 10)


def test_full_battery_uses_the_model(kit):
    brain, _, runtime = kit(80)
    first, follow = ask(brain, "how do i purify water")
    assert first.wants_followup and follow is not None and follow.text == ANSWER and len(runtime.calls) == 1


def test_unknown_battery_uses_the_model(kit):
    brain, _, runtime = kit(None)
    _, follow = ask(brain, "how do i purify water")
    assert follow is not None and follow.text == ANSWER and runtime.calls


def test_below_30_percent_the_followup_is_retrieved_text_without_the_model(kit):
    brain, _, runtime = kit(25)
    first, follow = ask(brain, "how do i purify water")
    assert first.wants_followup and runtime.calls == []
    assert follow is not None and follow.text != ANSWER and follow.sources
    assert "112" not in follow.text and "999" not in follow.text  # not an emergency: no number appended


def test_low_memory_skips_the_model_too(kit):
    brain, _, runtime = kit(90, free_mb=120)
    _, follow = ask(brain, "how do i purify water")
    assert runtime.calls == [] and follow is not None and follow.text != ANSWER


def test_memory_the_loaded_model_holds_counts_as_free(kit):
    brain, _, runtime = kit(90, free_mb=120, rss_mb=400)
    _, follow = ask(brain, "how do i purify water")
    assert runtime.calls and follow is not None and follow.text == ANSWER


def test_below_20_percent_templates_only(kit):
    brain, _, runtime = kit(15)
    first, follow = ask(brain, "how do i purify water")
    assert not first.wants_followup and follow is None and runtime.calls == []
    assert first.text  # the protocol reply itself is never withheld


def test_life_threat_followup_survives_low_battery_but_not_a_flat_one(kit):
    brain, battery, _ = kit(25)
    first, follow = ask(brain, "my son fell through ice not breathing")
    assert first.emergency and "999" in first.text
    assert follow is not None and "999" in follow.text
    battery.set(12)
    first, follow = ask(brain, "my son fell through ice not breathing")
    assert "999" in first.text and not first.wants_followup and follow is None


def test_a_battery_that_drops_after_the_first_reply_stops_the_followup(kit):
    brain, battery, runtime = kit(60)
    message = inbound("how do i purify water")
    first = brain.respond(message)
    assert first.wants_followup
    battery.set(25)
    follow = brain.follow_up(message, first, time.monotonic() + 10)
    assert runtime.calls == [] and follow is not None and follow.text != ANSWER
    battery.set(10)
    assert brain.follow_up(message, first, time.monotonic() + 10) is None


def test_a_gauge_fault_counts_as_unknown(kit):
    brain, battery, runtime = kit(10)
    battery.set(fault="I2C transfer not acknowledged")
    first, follow = ask(brain, "how do i purify water")
    assert first.wants_followup  # the faulty reading is unknown, which limits nothing
    assert brain.power.snapshot().battery_pct == 10  # the fault was one reading only: the limit returns
    assert follow is None and runtime.calls == []


def test_a_broken_monitor_never_costs_the_answer(kit, monkeypatch, caplog):
    brain, _, _ = kit(80)

    def broken(**_):
        raise RuntimeError("bug")

    monkeypatch.setattr(brain.power, "budget", broken)
    first, follow = ask(brain, "how do i purify water")
    assert first.wants_followup and follow is not None and "power budget unavailable" in caplog.text


def test_the_configured_responder_reads_the_monitor_it_is_given(kb_config):
    config, _ = kb_config
    low = config.replace(power__source="sim", power__sim_battery=15)
    monitor = open_monitor(low)
    brain = backends.make("responder", low, power=monitor)
    try:
        assert brain.power is monitor and brain.power.source.name == "sim"
        assert not brain.respond(inbound("how do i purify water")).wants_followup
    finally:
        brain.close()
    no_llm = backends.make("responder", low, power=monitor, llm=False)
    assert no_llm.power is None
    no_llm.close()
    monitor.close()


def test_closing_the_brain_leaves_the_monitor_to_its_owner(kb_config):
    """The mesh link reads the same monitor for its beacons until it stops, after the responder has closed."""
    config, _ = kb_config
    monitor = open_monitor(config.replace(power__source="sim", power__sim_battery=60))
    brain = backends.make("responder", config, power=monitor)
    brain.close()
    assert monitor.source.read().battery_pct == 60, "the source is still open"
    monitor.close()


def test_a_gauge_that_is_not_there_still_answers(kb_config):
    config, _ = kb_config
    monitor = open_monitor(config.replace(power__source="ina219", power__i2c_bus=250))
    brain = backends.make("responder", config, power=monitor)
    try:
        assert brain.power.snapshot().battery_pct is None
        assert brain.respond(inbound("how do i purify water")).wants_followup
    finally:
        brain.close()
        monitor.close()
