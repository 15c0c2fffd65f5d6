"""Per-modem start-up choices."""

from __future__ import annotations

import pytest

from evy.sms.at_lines import parse_ranges
from evy.sms.errors import ModemError
from evy.sms.profiles import GENERIC, SIM800, SIM7000, choose_cnmi, get_profile

SIM800_RANGES = parse_ranges("(0-3),(0-3),(0,2),(0,1),(0,1)")
SIM7000_RANGES = parse_ranges("(0-3),(0-3),(0-3),(0-2),(0,1)")


def test_sim800_gets_the_cnmi_it_accepts():
    assert choose_cnmi(SIM800, SIM800_RANGES, status_reports=True) == "2,1,0,1,0"
    assert choose_cnmi(GENERIC, SIM800_RANGES, status_reports=True) == "2,1,0,1,0"


def test_sim7000_stores_status_reports():
    assert choose_cnmi(SIM7000, SIM7000_RANGES, status_reports=True) == "2,1,0,2,0"


def test_without_status_reports_ds_is_zero():
    assert choose_cnmi(SIM800, SIM800_RANGES, status_reports=False) == "2,1,0,0,0"
    assert choose_cnmi(SIM7000, SIM7000_RANGES, status_reports=False) == "2,1,0,0,0"


def test_unknown_ranges_take_the_first_candidate_and_an_override_wins():
    assert choose_cnmi(GENERIC, None, status_reports=True) == "2,1,0,1,0"
    assert choose_cnmi(GENERIC, SIM800_RANGES, status_reports=True, override="1,1,0,0,0") == "1,1,0,0,0"


def test_a_modem_supporting_no_candidate_is_a_clear_error():
    with pytest.raises(ModemError, match=r"modem\.cnmi"):
        choose_cnmi(SIM800, parse_ranges("(0),(0),(0),(0),(0)"), status_reports=True)


def test_profiles_by_name():
    assert get_profile("sim7000").registration == ("CREG", "CGREG", "CEREG")
    with pytest.raises(ModemError, match="unknown profile 'quectel'"):
        get_profile("quectel")
