"""Local information through the pty simulator: facts set from another connection (as the console does)
answer routine questions in the sender's language; an emergency's reply is the safety text alone."""

from __future__ import annotations

import time

import pytest

from evy.localinfo.answer import set_fact
from evy.pipeline.kit import SimulatedKit, join_replies
from evy.store import Store

pytestmark = pytest.mark.timeout(60)
NO_LLM = 'country = "KE"\n[brain]\nfollowup = false\n'


def reply_to(kit, number, count=1):
    kit.replies(count)
    return [r.text for r in join_replies(list(kit.sim.sent)) if r.recipient == number][-1]


def test_routine_questions_get_the_operators_facts_and_emergencies_do_not():
    with SimulatedKit(NO_LLM) as kit, Store.open(kit.data_dir / "evy.db") as console:
        set_fact(console, "shelter", "St Mary's school, Moi Avenue, open day and night", time.time() + 86400,
                 now=time.time() - 7200)
        set_fact(console, "shelter", "Escuela Santa Maria, avenida Moi, abierta dia y noche", time.time() + 86400,
                 language="es")
        kit.sim.deliver("+254711000001", "where is the nearest shelter?")
        first = reply_to(kit, "+254711000001")
        assert first.startswith("Shelter: St Mary's school, Moi Avenue, open day and night (updated 2 h ago)\n")
        assert "999" in first and "Case " in first  # the routine reply's safety line and case code stay
        kit.sim.deliver("+254711000002", "¿Dónde está el refugio?")
        assert reply_to(kit, "+254711000002", 2).startswith("Refugio: Escuela Santa Maria")
        kit.sim.deliver("+254711000003", "house collapsed, my brother is trapped and bleeding, where is shelter")
        emergency = reply_to(kit, "+254711000003", 3)
        assert "999" in emergency and "St Mary" not in emergency


def test_in_an_emergency_case_a_side_question_gets_the_facts_after_the_safety_text():
    with SimulatedKit(NO_LLM) as kit, Store.open(kit.data_dir / "evy.db") as console:
        set_fact(console, "clinic", "Moi clinic open 24 h, Kenyatta Road", time.time() + 86400)
        kit.sim.deliver("+254711000004", "my father collapsed and is not breathing")
        first = reply_to(kit, "+254711000004")
        assert "Moi clinic" not in first
        kit.sim.deliver("+254711000004", "which clinic is open?")
        second = reply_to(kit, "+254711000004", 2)
        assert "Clinic: Moi clinic open 24 h, Kenyatta Road" in second
        assert not second.startswith("Clinic:")
