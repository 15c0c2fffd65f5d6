"""Triage speed (µs per message, target < 1 ms median; the rules alone measured in the same run as the
baseline) and the brain's immediate-reply time (target < 100 ms)."""

from __future__ import annotations

import statistics
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path

MESSAGES = [
    "my son fell through ice not breathing", "pls hlp", "HELPPP my husband is bleding a lot from his leg",
    "he is chocking on food", "how do i purify water", "house on fire kids inside", "tornado coming",
    "gas leak in the street near the school", "my daughter is missing since this morning",
    "water is rising we are on the roof with 3 children", "man with a gun shooting at the market",
    "bitten by a snake on the leg 20 min ago", "face drooping and slurred speech", "hello",
    "where is the nearest shelter for tonight", "mi hijo se cayo al hielo y no respira", "ayudaa porfa",
    "hay un incendio en mi casa, ninos adentro", "mi esposo esta sangrando mucho", "como purifico el agua",
    "mon fils est tombe dans la glace il ne respire plus", "au secours svp", "il s'étouffe",
    "inondation l'eau monte on est sur le toit", "meu filho caiu no gelo e nao respira", "socorro pfv",
    "incêndio na minha casa, crianças dentro", "ele engasgou", "ajuda, enchente, estamos no telhado",
    "We are 5 people stuck on the second floor after the earthquake, my mother has a broken leg and is "
    "bleeding, the stairs collapsed, we have no water since yesterday, please send help to the blue house "
    "next to the church in the upper village",
    "mzee ameanguka shambani hapumui", "moto umeshika nyumba ya jirani", "asante sana kwa msaada",
    "anmwe pitit mwen pa respire", "kay vwazen an pran dife", "mesi anpil pou ed la",
    "the towel is soaked through in seconds", "the sea drained off the reef", "my heart is shaking from the news",
    "aiuto mio padre non respira",
]


LABELLED = Path(__file__).resolve().parents[3] / "tests" / "triage" / "data"


def accuracy(cases: list[list]) -> dict:
    """Agreement with labelled SMS: category, life threat (recall and precision), emergency, language."""
    from evy.messages import Priority
    from evy.triage import triage

    right_category = right_language = right_emergency = 0
    life_true = life_found = life_flagged = 0
    for language, category, life, text in cases:
        result = triage(text)
        right_category += (result.category or "none") == category
        right_language += result.language == language
        right_emergency += result.emergency == (category not in ("none", "shelter", "water_food"))
        flagged = result.priority is Priority.LIFE_THREATENING
        life_true += life
        life_flagged += flagged
        life_found += life and flagged
    count = len(cases)
    return {
        "cases": count,
        "category_accuracy": round(right_category / count, 3),
        "language_accuracy": round(right_language / count, 3),
        "emergency_accuracy": round(right_emergency / count, 3),
        "life_threat_recall": round(life_found / life_true, 3) if life_true else None,
        "life_threat_precision": round(life_found / life_flagged, 3) if life_flagged else None,
    }


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(quick: bool) -> dict:
    from evy.config import parse
    from evy.messages import Inbound
    from evy.responder.brain import BrainResponder
    from evy.triage import triage
    from evy.triage.lexicon import default_lexicon
    from evy.triage.model import default_model

    started = time.perf_counter()
    lexicon = default_lexicon()
    load_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    default_model()
    model_load_ms = (time.perf_counter() - started) * 1000
    rounds = 20 if quick else 300
    samples: list[float] = []
    rules: list[float] = []  # the baseline: the same messages through the rules alone
    for _ in range(rounds):
        for text in MESSAGES:
            begin = time.perf_counter_ns()
            triage(text)
            samples.append((time.perf_counter_ns() - begin) / 1000)
            begin = time.perf_counter_ns()
            triage(text, lexicon=lexicon)
            rules.append((time.perf_counter_ns() - begin) / 1000)

    brain = BrainResponder(parse(""), llm=False)
    replies: list[float] = []
    for text in MESSAGES * (2 if quick else 10):
        message = Inbound(0, "+10000000000", text, datetime.now(UTC))
        begin = time.perf_counter()
        brain.respond(message)
        replies.append((time.perf_counter() - begin) * 1000)
    figures = {}
    for name in ("labelled", "heldout"):
        path = LABELLED / f"{name}.toml"
        if path.is_file():
            figures[name] = accuracy(tomllib.loads(path.read_text("utf-8"))["cases"])
    return {
        **figures,
        "messages": len(samples),
        "triage_us_median": round(statistics.median(samples), 1),
        "triage_us_p95": round(_percentile(samples, 0.95), 1),
        "triage_us_max": round(max(samples), 1),
        "target_us": 1000,
        "rules_only_us_median": round(statistics.median(rules), 1),
        "rules_only_us_p95": round(_percentile(rules, 0.95), 1),
        "lexicon_load_ms": round(load_ms, 1),
        "model_load_ms": round(model_load_ms, 1),
        "respond_ms_median": round(statistics.median(replies), 3),
        "respond_ms_p95": round(_percentile(replies, 0.95), 3),
        "respond_target_ms": 100,
    }
