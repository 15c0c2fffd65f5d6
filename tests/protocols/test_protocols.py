"""The shipped protocol library: complete, sourced, naming the number, SMS-sized, the same shape in every
language, and safe: every text passes the contraindications of every protocol it can be sent for."""

from __future__ import annotations

import re

import pytest

from evy.compress import compress
from evy.protocols import (
    alarming_words,
    contraindications,
    emergency_number,
    for_triage,
    keys,
    languages,
    lookup,
    paths,
    stands_in_for,
    step,
)
from evy.protocols.errors import ProtocolError
from evy.protocols.library import STANDS_IN_FOR, UNIVERSAL_FALLBACKS, _library
from evy.protocols.numbers import table
from evy.sms import gsm7, segments
from evy.triage import CATEGORIES, LANGUAGES
from evy.triage.lexicon import default_lexicon

MEDICAL_CASES = {"cpr", "choking", "bleeding", "burns", "drowning", "hypothermia", "heat_stroke", "fracture",
                 "snake_bite", "poisoning", "allergic_reaction", "seizure", "stroke", "diabetic", "childbirth"}
ADDED = {"heart_attack", "spinal_injury", "pan_fire", "electric_shock", "carbon_monoxide", "gas_leak",
         "vehicle_in_water", "heat_exhaustion", "low_blood_sugar", "dehydration", "febrile_seizure", "landslide",
         "wildfire", "tsunami", "domestic_violence", "lost_child", "mental_health", "food_distribution"}
SHIPPED = ("en", "es", "fr", "pt", "sw", "ht")
# The longest number a kit may carry: an override such as a local rescue line in international format.
NUMBERS = ["112", "1990", "+254700123456"]
LONG_NUMBER = NUMBERS[-1]


def every_step(language: str):
    for key in keys(language):
        for path in paths(key, language):
            yield key, path, step(key, path, language, LONG_NUMBER)


def test_every_language_has_every_protocol():
    expected = set(CATEGORIES) | MEDICAL_CASES | set(default_lexicon().topics) | ADDED | {"general"}
    assert set(languages()) == set(SHIPPED) >= set(LANGUAGES)
    for language in SHIPPED:
        assert set(keys(language)) == expected, language


@pytest.mark.parametrize("language", SHIPPED[1:])
def test_every_language_has_the_same_steps_questions_and_answer_classes_as_english(language):
    english, other = _library()["en"], _library()[language]
    for key in keys("en"):
        assert paths(key, language) == paths(key, "en"), key
        for path in paths(key, "en"):
            ours, theirs = step(key, path, "en", "1"), step(key, path, language, "1")
            assert theirs.language == language, (key, path)
            assert (theirs.question is None) == (ours.question is None), (key, path)
            assert theirs.expects == ours.expects, (key, path)
        assert other.protocols[key].discreet == english.protocols[key].discreet, key
        assert other.protocols[key].must_not, key
    for answer, phrases in other.answers.items():
        assert phrases, answer


@pytest.mark.parametrize("language", SHIPPED)
@pytest.mark.parametrize("number", NUMBERS)
def test_every_first_reply_names_the_number_and_fits_three_gsm7_segments(language, number):
    for key in keys(language):
        protocol = lookup(key, language, number)
        assert protocol.language == language
        result = compress(protocol.text, max_segments=3, language=language)
        assert gsm7.is_gsm7(result.text), key
        assert result.segments <= 3, (key, result.segments)
        assert result.dropped == 0, f"{language}/{key}: a sentence had to be dropped"
        assert number in result.text, (key, result.text)
        if protocol.question:
            assert result.text.rstrip().endswith("?"), f"{language}/{key}: the question comes last"


@pytest.mark.parametrize("language", SHIPPED)
def test_every_next_step_names_the_number_and_fits_two_sms(language):
    for key, path, found in every_step(language):
        if not path:
            continue
        result = compress(found.text, max_segments=2, language=language)
        assert result.dropped == 0 and result.segments <= 2, (key, path, result.segments)
        assert LONG_NUMBER in result.text, (key, path)


@pytest.mark.parametrize("language", ("sw", "ht"))
def test_swahili_and_haitian_creole_are_written_in_gsm7(language):
    for key, path, found in every_step(language):
        assert not gsm7.non_gsm7_chars(found.text), (key, path, gsm7.non_gsm7_chars(found.text))


@pytest.mark.parametrize("language", SHIPPED)
def test_every_protocol_has_a_source_and_keeps_its_numbered_steps(language):
    for key, entry in _library()[language].protocols.items():
        assert len(entry.source) > 10, key
        steps = re.findall(r"^(\d)\. ", entry.text, re.MULTILINE)
        assert steps == [str(i) for i in range(1, len(steps) + 1)], key
        compressed = compress(lookup(key, language, "112").text, language=language).text
        assert re.findall(r"^(\d)\. ", compressed, re.MULTILINE) == steps, key


@pytest.mark.parametrize("language", SHIPPED)
def test_every_text_passes_the_contraindications_of_every_protocol_it_can_stand_in_for(language):
    broken = [(key, path, hit) for key, path, found in every_step(language)
              for hit in contraindications(found.text, language, stands_in_for(key))]
    assert broken == []


# Where the first thing to do is not to phone: act first (back blows, drop-cover-hold, leave the gas or the
# coast, cool the burn), or the call is only needed on a sign the text names. Everywhere else the number
# is on the first line.
ACT_FIRST = {"burns", "choking", "seizure", "febrile_seizure", "fracture", "earthquake", "flood", "storm",
             "tsunami", "pan_fire", "gas_leak", "hypothermia", "heat_exhaustion", "low_blood_sugar", "diabetic",
             "dehydration", "shelter", "water_food", "food_distribution"}


@pytest.mark.parametrize("language", SHIPPED)
def test_the_number_comes_first_unless_acting_first_saves_the_life(language):
    late = {key for key in keys(language)
            if LONG_NUMBER not in lookup(key, language, LONG_NUMBER).text.splitlines()[0]}
    assert late <= ACT_FIRST, late - ACT_FIRST


def test_fallbacks_stand_in_for_every_protocol():
    covered = {member for members in STANDS_IN_FOR.values() for member in members}
    assert set(STANDS_IN_FOR) <= set(CATEGORIES)
    assert covered | set(STANDS_IN_FOR) | set(UNIVERSAL_FALLBACKS) == set(keys("en"))
    assert set(stands_in_for("general")) == set(keys("en"))
    assert {"heat_stroke", "dehydration", "low_blood_sugar", "hypothermia", "spinal_injury"} <= set(
        stands_in_for("medical"))


@pytest.mark.parametrize("language", SHIPPED)
def test_fallback_first_replies_give_the_number_first_and_ask_one_question(language):
    for key in ("medical", *STANDS_IN_FOR):
        reply = lookup(key, language, LONG_NUMBER)
        if reply.question:
            assert reply.question.count("?") == 1, key
    medical = lookup("medical", language, LONG_NUMBER)
    assert LONG_NUMBER in medical.text.splitlines()[0]
    assert medical.question and {"awake", "unresponsive", "not_breathing"} <= set(medical.expects)


DELETE = {"en": "Delete", "es": "Eliminar", "fr": "Supprimer", "pt": "Apagar", "sw": "Futa", "ht": "Efase"}


@pytest.mark.parametrize("language", SHIPPED)
def test_discreet_replies_alarm_no_onlooker_and_ask_nothing(language):
    discreet = [key for key, entry in _library()[language].protocols.items() if entry.discreet]
    assert discreet == ["domestic_violence"]
    reply = lookup("domestic_violence", language, "112")
    assert reply.question is None and reply.expects == ("yes",)  # only the more it offers, when asked
    more = step("domestic_violence", ("yes",), language, "112")
    for text in (reply.text, more.instructions):
        assert alarming_words(text, language) == [] and "?" not in text
        assert compress(text, max_segments=2, language=language).segments <= 2
        assert DELETE[language] in text  # how to delete the thread
        assert "112" in text
    assert more.question is None and more.expects == ()


@pytest.mark.parametrize("language", SHIPPED)
def test_the_need_texts_harm_no_one_who_is_ill(language):
    """A need told with an illness ("in the camp tent grandpa is hot, dry and confused") may be routed to the
    need's text: no need text may contradict the first aid of any medical situation (the shelter text once
    said "warm clothes, blankets", wrong for heat stroke)."""
    for need in ("shelter", "water_food", "food_distribution", "water_safety"):
        if need not in keys():
            continue
        text = lookup(need, language, "112").text
        assert contraindications(text, language, stands_in_for("medical")) == [], need


def test_the_old_generic_medical_reply_is_caught_as_harmful():
    old = ("Medical emergency: call 112 now. 1. Keep yourself safe. 2. Not breathing normally: CPR. "
           "3. Bleeding: press hard on it. 4. Keep them warm, nothing to eat or drink.")
    harmed = {hit.split(":")[0] for hit in contraindications(old, "en", stands_in_for("medical"))}
    assert {"heat_stroke", "heat_exhaustion", "dehydration", "low_blood_sugar"} <= harmed
    assert contraindications(lookup("medical", "en", "112").text, "en", stands_in_for("medical")) == []


def test_the_old_hazmat_reply_is_caught_as_harmful_for_carbon_monoxide():
    old = ("Chemical or gas danger: leave upwind and uphill now. Call 112. 2. Told to shelter: go inside, "
           "close windows, doors and vents, turn off fans.")
    assert [hit for hit in contraindications(old, "en", stands_in_for("hazmat")) if hit.startswith("carbon")]
    assert contraindications(lookup("hazmat", "en", "112").text, "en", stands_in_for("hazmat")) == []


def test_conversation_steps_follow_the_answers():
    breathing = step("cpr", ("breathing",), "en", "999")
    assert "side" in breathing.text and "999" in breathing.text
    assert step("cpr", ("yes",), "en", "999").instructions == breathing.instructions  # "yes" shares the step
    assert set(lookup("cpr", "en", "999").expects) >= {"breathing", "not_breathing"}
    assert "torniquete" in step("bleeding", ("continuing",), "es", "112").text
    with pytest.raises(ProtocolError, match="no step for 'maybe'"):
        step("cpr", ("maybe",), "en", "112")


@pytest.mark.parametrize("language", SHIPPED)
def test_the_dispatcher_questions_are_short_gsm7_questions(language):
    from evy.protocols import ask

    for name in ("location", "people"):
        question = ask(name, language)
        assert question.endswith("?") and compress(question, language=language).segments == 1
        assert gsm7.is_gsm7(compress(question, language=language).text)
    with pytest.raises(ProtocolError, match="no question 'age'"):
        ask("age", language)


def test_sw_and_ht_are_full_languages():
    assert lookup("cpr", "sw", "999").language == "sw"
    assert lookup("cpr", "ht", "114").language == "ht"


def test_unknown_language_falls_back_to_english():
    protocol = lookup("cpr", "id", "999")
    assert protocol.language == "en" and "999" in protocol.text


def test_for_triage_prefers_topic_then_category_then_general():
    assert for_triage("choking", "medical", "es", "112").key == "choking"
    assert for_triage(None, "fire", "fr", "112").key == "fire"
    assert for_triage(None, None, "pt", "112").key == "general"
    assert for_triage("pan_fire", "fire", "sw", "112").key == "pan_fire"


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


def test_step_sizes_stay_within_one_sms_mostly():
    """Figures for the docs: how many next steps fit one SMS with a long number (not a hard limit)."""
    sizes = [segments.count(compress(found.text, language="en").text)[1]
             for _, path, found in every_step("en") if path]
    assert sum(size == 1 for size in sizes) / len(sizes) >= 0.9


@pytest.mark.parametrize("key", ["medical", "heart_attack", "spinal_injury"])
def test_a_bare_no_to_awake_and_breathing_covers_both_cases(key):
    """"No" to "Are they awake and breathing?" may mean either: the step says what to do in both."""
    assert lookup(key, "en", "112").question == "Are they awake and breathing?"
    answer = step(key, ("no",), "en", "112").text
    assert re.search(r"CPR|chest", answer) and "side" in answer
    assert step(key, ("unresponsive",), "en", "112").instructions != step(key, ("not_breathing",), "en",
                                                                           "112").instructions
