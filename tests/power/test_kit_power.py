"""End to end through the simulated modem: the configured simulated battery decides whether a follow-up SMS
leaves after the protocol reply (the kit builds the agent as `evy run` and `evy sim` do: evy.pipeline.assemble)."""

from __future__ import annotations

import time

from evy.pipeline.kit import SimulatedKit, join_replies

PHONE = "+254711000111"
KIT = 'country = "KE"\n[rag]\nembed_model = ""\n[llm]\nenabled = false\n[power]\nsource = "sim"\n'


def test_low_battery_still_sends_the_knowledge_base_followup_for_a_life_threat():
    with SimulatedKit(KIT + "sim_battery = 25\n") as kit:
        kit.sim.deliver(PHONE, "my son fell through ice not breathing")
        first, follow = kit.replies(2, timeout=60)[:2]
        assert "999" in first.text and "999" in follow.text and follow.text != first.text


def test_a_flat_battery_sends_the_protocol_reply_alone():
    with SimulatedKit(KIT + "sim_battery = 15\n") as kit:
        kit.sim.deliver(PHONE, "my son fell through ice not breathing")
        first = kit.replies(1, timeout=30)[0]
        assert "999" in first.text
        time.sleep(1.0)
        assert len(join_replies(list(kit.sim.sent))) == 1
        assert kit.agent.responder.power.budget().mode == "templates-only"
