"""The shipped protocol library: complete, sourced, naming the number, and SMS-sized in every language."""

from __future__ import annotations

import re

import pytest

from evy.compress import compress
from evy.protocols import emergency_number, for_triage, keys, languages, lookup
from evy.protocols.errors import ProtocolError
from evy.protocols.library import _library
from evy.protocols.numbers import table
from evy.router import CATEGORIES, LANGUAGES
from evy.router.lexicon import default_lexicon
from evy.sms import gsm7

MEDICAL_CASES = {"cpr", "choking", "bleeding", "burns", "drowning", "hypothermia", "heat_stroke", "fracture",
                 "snake_bite", "poisoning", "allergic_reaction", "seizure", "stroke", "diabetic", "childbirth"}
# The longest number a kit may carry: an override such as a local rescue line in international format.
NUMBERS = ["112", "1990", "+254700123456"]


def test_every_language_has_every_protocol():
    expected = set(CATEGORIES) | MEDICAL_CASES | set(default_lexicon().topics) | {"general"}
    assert set(languages()) >= set(LANGUAGES)
    for language in LANGUAGES:
        assert set(keys(language)) == expected, language


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("number", NUMBERS)
def test_every_protocol_names_the_number_and_fits_three_gsm7_segments(language, number):
    for key in keys(language):
        protocol = lookup(key, language, number)
        assert protocol.language == language
        result = compress(protocol.text, max_segments=3, language=language)
        assert gsm7.is_gsm7(result.text), key
        assert result.segments <= 3, (key, result.segments)
        assert result.dropped == 0, f"{language}/{key}: a sentence had to be dropped"
        assert number in result.text, (key, result.text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_protocol_has_a_source_and_keeps_its_numbered_steps(language):
    for key, entry in _library()[language].items():
        assert len(entry["source"]) > 10, key
        steps = re.findall(r"^(\d)\. ", entry["text"], re.MULTILINE)
        assert steps == [str(i) for i in range(1, len(steps) + 1)], key
        compressed = compress(lookup(key, language, "112").text, language=language).text
        assert re.findall(r"^(\d)\. ", compressed, re.MULTILINE) == steps, key


def test_unknown_language_falls_back_to_english():
    protocol = lookup("cpr", "sw", "999")
    assert protocol.language == "en" and "999" in protocol.text


def test_for_triage_prefers_topic_then_category_then_general():
    assert for_triage("choking", "medical", "es", "112").key == "choking"
    assert for_triage(None, "fire", "fr", "112").key == "fire"
    assert for_triage(None, None, "pt", "112").key == "general"


def test_unknown_key_and_missing_number_are_errors():
    with pytest.raises(ProtocolError, match="no protocol 'volcano'"):
        lookup("volcano", "en", "112")
    with pytest.raises(ProtocolError, match="no emergency number"):
        lookup("cpr", "en", "")


def test_emergency_number_table_is_verified_and_never_guesses():
    assert emergency_number(None) == "112"
    assert emergency_number("ke") == "999"
    assert emergency_number("US") == "911"
    assert emergency_number("TH") == "1669"
    for code, entry in table().items():
        assert re.fullmatch(r"[A-Z]{2}", code)
        assert re.fullmatch(r"\d{2,5}", entry["emergency"]), code
        assert entry["source"].strip(), code
    from evy.errors import ConfigError

    with pytest.raises(ConfigError, match="no verified emergency number"):
        emergency_number("ZZ")


@pytest.mark.parametrize(("language", "text", "expected"), [
    ("en", "Call the emergency number now.", "Call 999 now."),
    ("es", "Llame al número de emergencias.", "Llame al 999."),
    ("fr", "Appelez le numéro d'urgence.", "Appelez le 999."),
    ("pt", "Ligue para o número de emergência.", "Ligue para o 999."),
])
def test_knowledge_base_wording_gets_the_real_number(language, text, expected):
    from evy.protocols import name_the_number, phrase

    assert name_the_number(text, language, "999") == expected
    assert "999" in phrase("call", language, "999")
