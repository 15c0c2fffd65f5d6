"""Context handling: reading a message in the light of its case (target < 1 ms median, like triage), and the
first reply with cases on a real SQLite file against the bare responder (target < 20 ms p95).

Baselines in the same run: triage alone, and the responder alone.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

# A conversation per sender: the first message, then answers in its context.
CONVERSATIONS = [
    ["my husband collapsed he is not breathing", "he is breathing now", "we are near the mosque on Market Road",
     "thanks"],
    ["flood water entering the house", "yes", "we are 5 people", "-1.29210, 36.82190"],
    ["he is choking on food", "it came out", "he can breathe"],
    ["mi padre se desmayo y no respira", "ya respira", "estamos a salvo"],
    ["le feu a pris dans la cuisine", "le feu est eteint", "status"],
    ["meu filho esta sangrando muito", "ainda sangra", "parou"],
]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _figures(prefix: str, samples: list[float]) -> dict:
    return {f"{prefix}_median": round(statistics.median(samples), 3),
            f"{prefix}_p95": round(_percentile(samples, 0.95), 3)}


def run(quick: bool) -> dict:
    from evy.cases.dialogue import next_turn
    from evy.cases.state import Case
    from evy.config import parse
    from evy.messages import Inbound
    from evy.pipeline.conversation import Conversation
    from evy.responder.brain import BrainResponder
    from evy.store import Store
    from evy.store import cases as case_store
    from evy.triage import triage

    rounds = 5 if quick else 50
    context_us: list[float] = []
    triage_us: list[float] = []
    for _ in range(rounds):
        for number, conversation in enumerate(CONVERSATIONS, start=1):
            case = Case(id=number, sender=f"+2547000000{number:02d}", opened_at=0.0, updated_at=0.0)
            for step, text in enumerate(conversation, start=1):
                begin = time.perf_counter_ns()
                result = triage(text)
                triage_us.append((time.perf_counter_ns() - begin) / 1000)
                begin = time.perf_counter_ns()
                case = next_turn(case, text, result, number="999", now=float(step)).case
                context_us.append((time.perf_counter_ns() - begin) / 1000)

    config = parse('country = "KE"\n[brain]\nfollowup = false\n')
    responder = BrainResponder(config, llm=False)
    bare_ms: list[float] = []
    with_cases_ms: list[float] = []
    with tempfile.TemporaryDirectory() as folder, Store.open(Path(folder) / "evy.db") as store:
        conversation = Conversation(config, store, responder)
        message_id = 0
        for round_number in range(rounds):
            for number, texts in enumerate(CONVERSATIONS, start=1):
                sender = f"+2547{round_number:04d}{number:04d}"
                for text in texts:
                    message_id += 1
                    message = Inbound(message_id, sender, text, datetime.now(UTC))
                    begin = time.perf_counter()
                    responder.respond(message)
                    bare_ms.append((time.perf_counter() - begin) * 1000)
                    begin = time.perf_counter()
                    answer = conversation.answer(message)
                    with store.transaction(durable=False) as db:
                        case_store.save(db, answer.case)
                    with_cases_ms.append((time.perf_counter() - begin) * 1000)
    return {
        "messages": len(context_us),
        **_figures("context_us", context_us),
        **_figures("baseline_triage_us", triage_us),
        "context_target_us": 1000,
        **_figures("reply_with_case_ms", with_cases_ms),
        **_figures("baseline_respond_ms", bare_ms),
        "reply_target_p95_ms": 20,
    }
