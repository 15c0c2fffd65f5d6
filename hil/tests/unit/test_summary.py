"""The one-page summary from JUnit XML and the figures."""

from __future__ import annotations

import json

import pytest
from evyhil import summary
from evyhil.errors import HilError

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="4">
 <testcase classname="test_01_boot" name="test_system_is_running" time="95.2"/>
 <testcase classname="test_04_sms" name="test_emergency_sms_gets_exactly_one_reply" time="61.0">
  <failure message="AssertionError: 2 replies: ['Call 112', 'Call 112']">trace</failure></testcase>
 <testcase classname="test_06_lora" name="test_frame" time="0.0">
  <skipped type="pytest.skip" message="QEMU has no SX127x radio">skip</skipped></testcase>
 <testcase classname="test_03_readonly_root" name="test_power_cut | pipes" time="50.0"/>
</testsuite></testsuites>
"""


def test_summary_reports_figures_outcomes_and_verdict(tmp_path):
    (tmp_path / "junit.xml").write_text(JUNIT)
    (tmp_path / "figures.json").write_text(json.dumps({"boot_to_agent_ready_s": 71.4, "sms_round_trip_s": 12.5,
                                                        "power_cut_cycles_survived": 5}))
    text = summary.write(tmp_path, "qemu", "out/evy-field.img", tmp_path / "junit.xml")
    assert text.startswith("# EVY HIL run: FAIL")
    assert "2 passed, 1 failed, 0 errors, 1 skipped" in text
    assert "| Boot: power-on to agent ready | 71.4 s |" in text
    assert "| Power-cut cycles survived | 5 |" in text
    assert "2 replies" in text and "QEMU has no SX127x radio" in text
    assert "test_power_cut \\| pipes" in text
    assert (tmp_path / "summary.md").read_text() == text


def test_all_passed_is_a_pass(tmp_path):
    outcomes = [summary.Outcome("t::a", "passed", 1.0), summary.Outcome("t::b", "skipped", 0.0, "why")]
    assert summary.render("qemu", "x.img", outcomes, {}).startswith("# EVY HIL run: PASS")


def test_no_tests_is_a_fail():
    assert summary.render("qemu", "x.img", [], {}).startswith("# EVY HIL run: FAIL")


def test_unreadable_junit_is_a_clear_error(tmp_path):
    (tmp_path / "junit.xml").write_text("<testsuites")
    with pytest.raises(HilError, match="cannot read the JUnit report"):
        summary.read_junit(tmp_path / "junit.xml")
