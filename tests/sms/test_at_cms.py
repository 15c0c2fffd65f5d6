"""CMS/CME error codes become causes and actions a field technician can act on."""

from __future__ import annotations

import pytest

from evy.sms import cms
from evy.sms.errors import CmsError, ModemError

LISTED = [("cms", 321), ("cms", 322), ("cms", 330), ("cms", 331), ("cms", 332), ("cms", 304), ("cms", 500),
          ("cme", 10), ("cme", 11), ("cme", 12), ("cme", 13), ("cme", 14), ("cme", 16)]


@pytest.mark.parametrize(("kind", "code"), LISTED)
def test_every_listed_code_has_its_own_cause_and_action(kind, code):
    error = cms.error_for(kind, code, "AT+CMGS=23")
    assert isinstance(error, CmsError) and isinstance(error, ModemError)
    assert error.cause and error.action and "unlisted" not in error.cause
    assert "\n" not in str(error)
    assert str(error).startswith(f"AT+CMGS=23: {kind.upper()} ERROR {code}: ")


def test_transient_and_permanent_errors_are_told_apart():
    assert cms.error_for("cme", 14, "x").transient  # SIM busy: retry later
    assert cms.error_for("cms", 331, "x").transient  # no network: the outbox retries
    assert cms.error_for("cms", 332, "x").transient
    assert not cms.error_for("cme", 16, "x").transient  # wrong PIN: never again
    assert not cms.error_for("cms", 330, "x").transient  # SMSC unknown: needs configuration
    assert not cms.error_for("cms", 304, "x").transient  # invalid PDU: a bug, not luck


def test_categories_drive_the_reaction():
    assert cms.error_for("cms", 322, "x").category == "storage"
    assert "delete" in cms.error_for("cms", 322, "x").action
    assert cms.error_for("cme", 14, "x").category == "sim"
    assert cms.error_for("cme", 16, "x").category == "pin"
    assert "modem.smsc" in cms.error_for("cms", 330, "x").action


def test_error_lines_are_parsed_numeric_verbose_and_bare():
    assert cms.parse_error_line("+CMS ERROR: 322") == ("cms", 322)
    assert cms.parse_error_line("+CME ERROR: SIM busy") == ("cme", 14)
    assert cms.parse_error_line("+CME ERROR: incorrect password") == ("cme", 16)
    assert cms.parse_error_line("ERROR") == ("error", None)
    assert cms.parse_error_line("OK") is None


def test_unknown_codes_still_explain_themselves():
    assert "RP cause 99" in cms.describe("cms", 99).text
    assert "TP cause 200" in cms.describe("cms", 200).text
    assert "unlisted error code 777" in cms.describe("cme", 777).text
    bare = cms.error_for("error", None, "AT+CSQ")
    assert str(bare).startswith("AT+CSQ: ERROR: ") and bare.code is None


def test_docs_modem_md_carries_the_current_error_table():
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "modem.md").read_text(encoding="utf-8")
    start, end = "<!-- cms-table:start -->\n", "<!-- cms-table:end -->"
    assert doc[doc.index(start) + len(start):doc.index(end)] == cms.reference_markdown(), \
        "docs/modem.md is out of date: paste cms.reference_markdown() between the cms-table markers"
