"""Summaries and the side-by-side table, from hand-made answers."""

from __future__ import annotations

from evy.evaluate import parse
from evy.evaluate.report import percentile, summarise, table
from evy.evaluate.runner import Answer

CASES = parse("""
[[message]]
id = "en-fire"
lang = "en"
category = "fire"
emergency = true
text = "fire in the house"
must = [['{number}'], ['get out']]
must_not = ['go back in']

[[message]]
id = "es-agua"
lang = "es"
category = "water_food"
emergency = false
text = "agua segura? llamo al 911?"
must = [['hierv']]
""").cases


def answers() -> list[Answer]:
    fire = Answer(CASES[0], first_ms=1.0, followup_s=2.0, followup_sent=True, category="fire")
    fire.add("Fire: get out now.", "gsm7", 1)
    fire.add("Call 999. Then go back in for the cat.", "gsm7", 1)
    water = Answer(CASES[1], first_ms=3.0, category="other")
    water.add("Hierva el agua 1 minuto. Llame al 911.", "ucs2", 2)
    return [fire, water]


def test_summary_figures():
    summary = summarise(answers(), "999")
    assert summary["messages"] == 2 and summary["replied"] == 2
    assert summary["fact_recall"] == 1.0 and summary["all_facts"] == 2
    assert summary["fact_recall_first_reply"] == round(2 / 3, 3)  # the number came in the follow-up
    # the follow-up's only fact is the number, which the responder appends by rule
    assert summary["followups_with_a_fact"] == 0.0 and summary["followup_new_facts"] == 1
    assert summary["followup_language_match"] == 1.0
    assert summary["forbidden_advice"] == 1 and summary["messages_with_forbidden"] == 1
    assert summary["number_named_rate"] == 1.0
    assert summary["wrong_numbers"] == 1
    assert summary["foreign_number_messages"] == 1 and summary["foreign_number_echoed"] == 1
    assert summary["sms_per_message"] == 2.0 and summary["segments_max"] == 2
    assert summary["ucs2_rate"] == round(1 / 3, 3)
    assert summary["first_reply_ms_median"] == 2.0
    assert summary["followups_sent"] == 1 and summary["followup_s_median"] == 2.0
    assert summary["category_accuracy"] == 0.5
    assert summary["recall_by_language"] == {"en": 1.0, "es": 1.0}
    assert summary["per_message"][0]["forbidden"] == ["go back in"]


def test_no_reply_scores_zero_and_no_details():
    silent = [Answer(CASES[0]), Answer(CASES[1], error="no model")]
    summary = summarise(silent, "999", details=False)
    assert summary["fact_recall"] == 0.0 and summary["replied"] == 0 and summary["errors"] == 1
    assert summary["ucs2_rate"] is None and summary["first_reply_ms_median"] is None
    assert "per_message" not in summary and "category_accuracy" not in summary
    assert "fact_recall_first_reply" not in summary and summary["timeouts"] == 0


def test_percentile():
    assert percentile([], 0.95) is None
    assert percentile([5.0], 0.95) == 5.0
    assert percentile([float(v) for v in range(1, 101)], 0.95) == 95.0


def test_table_side_by_side_with_a_skipped_system():
    text = table({"pipeline": summarise(answers(), "999"), "bare model": "--no-llm"})
    lines = text.splitlines()
    assert "pipeline" in lines[0] and "bare model" in lines[0]
    assert any(line.startswith("fact recall (all facts)") and "1.0" in line and "skipped" in line for line in lines)
    assert lines[-1] == "bare model skipped: --no-llm"
