"""A sign of a life at stake outranks the need it was told with: someone who will not wake or breathe at a
food line, a water point or in a shelter gets first aid, not the shelter or water text. Written for this rule
in six languages (none of them from the corpus)."""

from __future__ import annotations

import pytest

from evy.triage.classify import triage

AT_A_NEED = [
    "in the shelter tent an old man wont wake up, breathing slowly, pls",
    "at the food line a woman fell down and we cannot wake her, she is breathing",
    "en el albergue un senor no despierta, respira pero no responde",
    "na fila da agua uma senhora desmaiou e nao acorda",
    "nan abri a yon granmoun tonbe li pa reveye, li respire",
    "au point d'eau un enfant s'est effondre, il ne respire plus",
    "kwenye foleni ya chakula mzee ameanguka hapumui",
]


@pytest.mark.parametrize("text", AT_A_NEED)
def test_a_life_at_stake_at_a_food_line_water_point_or_shelter_gets_first_aid(text):
    reading = triage(text)
    assert reading.emergency and reading.category == "medical", reading


@pytest.mark.parametrize("text", ["where is the water truck today", "is there room at the school shelter tonight",
                                  "wapi chakula kinagawiwa leo"])
def test_the_need_alone_stays_a_request(text):
    assert not triage(text).emergency
