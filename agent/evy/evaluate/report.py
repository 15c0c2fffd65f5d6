"""Sum scored answers up per system, and print both systems side by side."""

from __future__ import annotations

import re
import statistics
from collections import defaultdict

from evy.evaluate.errors import EvalError
from evy.evaluate.evalset import NUMBER_TOKEN, Case
from evy.evaluate.runner import Answer
from evy.evaluate.scoring import Score, score
from evy.triage import triage

_FOREIGN_NUMBER = re.compile(r"(?<!\d)(\d{3})(?!\d)")


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def summarise(answers: list[Answer], number: str, *, details: bool = True) -> dict:
    scores: list[tuple[Answer, Score]] = [(a, score(a.case, a.text, number)) for a in answers]
    facts = sum(s.facts for _, s in scores)
    found = sum(len(s.found) for _, s in scores)
    emergencies = [s for _, s in scores if s.number_named is not None]
    # Messages that name an emergency number of their own ("should I call 911?"): was it echoed back?
    foreign = [(a, s) for a, s in scores
               if any(n != number for n in _FOREIGN_NUMBER.findall(a.case.text))]
    all_segments = [count for a in answers for count in a.segments]
    encodings = [encoding for a in answers for encoding in a.encodings]
    first_ms = [a.first_ms for a in answers if a.first_ms is not None]
    followup_s = [a.followup_s for a in answers if a.followup_s is not None]
    by: dict[str, dict[str, list[float]]] = {"language": defaultdict(list), "category": defaultdict(list)}
    for answer, result in scores:
        by["language"][answer.case.lang].append(result.recall)
        by["category"][answer.case.category].append(result.recall)
    replied = [a for a in answers if a.sms]
    summary = {
        "messages": len(answers),
        "replied": len(replied),
        "fact_recall": _round(found / facts if facts else None),
        "fact_recall_mean": _round(statistics.fmean(s.recall for _, s in scores) if scores else None),
        "all_facts": sum(s.recall == 1.0 for _, s in scores),
        "recall_by_language": {k: _round(statistics.fmean(v)) for k, v in sorted(by["language"].items())},
        "recall_by_category": {k: _round(statistics.fmean(v)) for k, v in sorted(by["category"].items())},
        "forbidden_advice": sum(len(s.forbidden) for _, s in scores),
        "messages_with_forbidden": sum(bool(s.forbidden) for _, s in scores),
        "number_named_rate": _round(sum(bool(s.number_named) for s in emergencies) / len(emergencies)
                                    if emergencies else None),
        "wrong_numbers": sum(len(s.wrong_numbers) for _, s in scores),
        "foreign_number_echoed": sum(bool(s.wrong_numbers) for _, s in foreign),
        "foreign_number_messages": len(foreign),
        "reply_language_match": _round(sum(triage(a.sms[0]).language == a.case.lang for a in replied)
                                       / len(replied) if replied else None),
        "sms_per_message": _round(sum(all_segments) / len(answers) if answers else None, 2),
        "segments_per_sms_mean": _round(statistics.fmean(all_segments) if all_segments else None, 2),
        "segments_max": max(all_segments, default=None),
        "ucs2_rate": _round(encodings.count("ucs2") / len(encodings) if encodings else None),
        "first_reply_ms_median": _round(statistics.median(first_ms) if first_ms else None, 2),
        "first_reply_ms_p95": _round(percentile(first_ms, 0.95), 2),
        "followups_attempted": len(followup_s),
        "followups_sent": sum(a.followup_sent for a in answers),
        "followup_s_median": _round(statistics.median(followup_s) if followup_s else None, 2),
        "followup_s_p95": _round(percentile(followup_s, 0.95), 2),
        "timeouts": sum(a.timed_out for a in answers),
        "errors": sum(a.error is not None for a in answers),
    }
    if any(len(a.sms) > 1 or a.followup_s is not None for a in answers):
        first = [score(a.case, a.sms[0] if a.sms else "", number) for a in answers]
        summary["fact_recall_first_reply"] = _round(sum(len(s.found) for s in first) / facts if facts else None)
        summary.update(_follow_up_quality(answers, first, number))
    if any(a.category is not None for a in answers):
        summary["category_accuracy"] = _round(sum(a.category == a.case.category for a in answers) / len(answers))
    if details:
        summary["per_message"] = [
            {"id": a.case.id, "lang": a.case.lang, "category": a.case.category, **s.as_dict(a.case),
             "sms": a.sms, "segments": a.segments, "encodings": a.encodings,
             "first_ms": _round(a.first_ms, 2), "followup_s": _round(a.followup_s, 2),
             "followup_sent": a.followup_sent,
             **({"triage_category": a.category} if a.category is not None else {}),
             **({"error": a.error} if a.error else {}), **({"timed_out": True} if a.timed_out else {})}
            for a, s in scores
        ]
    return summary


def _follow_up_quality(answers: list[Answer], first: list[Score], number: str) -> dict:
    """Does the second SMS add anything? Facts it carries that the first lacked, whether it carries any
    required fact besides the emergency number, and whether it is in the sender's language."""
    sent = [(a, f, score(a.case, "\n".join(a.sms[1:]), number)) for a, f in zip(answers, first, strict=True)
            if len(a.sms) > 1]
    if not sent:
        return {"followups_with_a_fact": None, "followup_new_facts": 0, "followup_language_match": None}
    def advice(answer: Answer, found: tuple[int, ...]) -> set[int]:  # the number is appended by rule: not advice
        return {i for i in found if not any(NUMBER_TOKEN in p for p in answer.case.must[i])}

    return {
        "followups_with_a_fact": _round(sum(bool(advice(a, s.found)) for a, _, s in sent) / len(sent)),
        "followup_new_facts": sum(len(set(s.found) - set(f.found)) for _, f, s in sent),
        "followup_language_match": _round(sum(triage(a.sms[1]).language == a.case.lang for a, _, _ in sent)
                                          / len(sent)),
    }


def answers_from(per_message: list[dict], cases: dict[str, Case]) -> list[Answer]:
    """The answers recorded in an earlier run's ``per_message``, to score them again against ``cases``
    (after the eval set changed) without asking any model again."""
    answers = []
    for entry in per_message:
        case = cases.get(entry.get("id"))
        if case is None:
            raise EvalError(f"recorded message {entry.get('id')!r} is not in the eval set")
        try:
            answers.append(Answer(case, sms=list(entry["sms"]), segments=list(entry["segments"]),
                                  encodings=list(entry["encodings"]), first_ms=entry["first_ms"],
                                  followup_s=entry["followup_s"],
                                  followup_sent=entry.get("followup_sent", len(entry["sms"]) > 1),
                                  timed_out=entry.get("timed_out", False), error=entry.get("error"),
                                  category=entry.get("triage_category")))
        except (KeyError, TypeError) as exc:
            raise EvalError(f"recorded message {case.id!r}: missing or bad field {exc}") from None
    return answers


_ROWS = [
    ("messages", "messages"),
    ("fact recall (all facts)", "fact_recall"),
    ("fact recall (mean/message)", "fact_recall_mean"),
    ("fact recall, first SMS only", "fact_recall_first_reply"),
    ("messages with every fact", "all_facts"),
    ("forbidden advice given", "forbidden_advice"),
    ("emergency number named", "number_named_rate"),
    ("other emergency numbers", "wrong_numbers"),
    ("'call 911?' echoed", "foreign_number_echoed"),
    ("reply in sender's language", "reply_language_match"),
    ("triage category accuracy", "category_accuracy"),
    ("SMS parts per message", "sms_per_message"),
    ("UCS-2 rate", "ucs2_rate"),
    ("first reply ms median", "first_reply_ms_median"),
    ("first reply ms p95", "first_reply_ms_p95"),
    ("follow-ups sent/attempted", None),
    ("follow-up s median", "followup_s_median"),
    ("follow-ups with a fact", "followups_with_a_fact"),  # other than the number
    ("facts only in follow-ups", "followup_new_facts"),
    ("follow-up in sender's lang", "followup_language_match"),
    ("deadline hit", "timeouts"),
]


def table(systems: dict[str, dict | str]) -> str:
    """A plain-text table, one column per system (a string value is a skipped system's reason)."""
    names = list(systems)
    width = 28
    lines = [f"{'metric':<{width}}" + "".join(f"{name:>16}" for name in names)]
    for label, key in _ROWS:
        cells = []
        for name in names:
            summary = systems[name]
            if isinstance(summary, str):
                cells.append("skipped")
            elif key is None:
                cells.append(f"{summary['followups_sent']}/{summary['followups_attempted']}")
            else:
                value = summary.get(key)
                cells.append("-" if value is None else str(value))
        lines.append(f"{label:<{width}}" + "".join(f"{cell:>16}" for cell in cells))
    for name in names:
        if isinstance(systems[name], str):
            lines.append(f"{name} skipped: {systems[name]}")
    return "\n".join(lines)
