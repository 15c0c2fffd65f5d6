"""The labelled SMS corpus (eval/corpus/) through EVY's first reply, scored per language, category and kind.

For each message the responder's first reply (protocols only, no model) is checked for what matters in the
field: an emergency recognised (the reply names the number), a non-emergency left calm, the protocol that
fits the situation (or a fallback that is safe for it), and no contraindication of the real situation.
Follow-up messages ("breathing now") need their case and are scored by the conversation tests instead.
The ``test`` split is held out: tune on ``train`` and ``dev``, report ``test``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from evy.compress import as_sent, needs_ucs2
from evy.config import Config
from evy.evaluate.errors import EvalError
from evy.messages import Inbound
from evy.pipeline.conversation import Conversation
from evy.protocols import library
from evy.responder.brain import BrainResponder
from evy.store import Store

SPLITS = ("train", "dev", "test")
CATEGORIES = ("medical", "fire", "flood", "earthquake", "storm", "trapped", "violence", "hazmat",
              "missing_person", "shelter", "water_food", "other")
KINDS = ("textbook", "paraphrase", "distractor", "question", "chitchat", "followup", "shorthand", "codeswitch")
NO_SITUATION = "none"

# The corpus names situations in a dispatcher's words; this is the protocol each one should get (None: the
# category's own text).
SITUATION_PROTOCOLS: dict[str, str | None] = {
    "cardiac_arrest": "cpr", "severe_bleeding": "bleeding", "choking": "choking", "burn": "burns",
    "drowning": "drowning", "hypothermia": "hypothermia", "heat_stroke": "heat_stroke",
    "heat_exhaustion": "heat_exhaustion", "fracture": "fracture", "spinal_injury": "spinal_injury",
    "snakebite": "snake_bite", "poisoning": "poisoning", "anaphylaxis": "allergic_reaction",
    "seizure": "seizure", "febrile_seizure": "febrile_seizure", "stroke": "stroke", "heart_attack": "heart_attack",
    "low_blood_sugar": "low_blood_sugar", "dehydration": "dehydration", "electric_shock": "electric_shock",
    "downed_power_line": "electric_shock", "childbirth": "childbirth", "mental_health": "mental_health",
    "unconscious_breathing": None, "house_fire": None, "pan_fire": "pan_fire", "wildfire": "wildfire",
    "flood": None, "flash_flood": None, "vehicle_in_water": "vehicle_in_water", "tsunami": "tsunami",
    "earthquake": None, "aftershock": None, "landslide": "landslide", "storm": None, "trapped_rubble": None,
    "armed_attack": None, "assault": None, "domestic_violence": "domestic_violence", "hazmat_spill": None,
    "carbon_monoxide": "carbon_monoxide", "gas_leak": "gas_leak", "missing_person": None,
    "lost_child": "lost_child", "shelter_needed": None, "food_distribution": "food_distribution",
    "water_safety": None, "water_food_needed": None, NO_SITUATION: None,
}


@dataclass(frozen=True)
class Message:
    id: str
    language: str
    text: str
    emergency: bool
    category: str
    situation: str
    kind: str
    split: str

    @property
    def protocol(self) -> str:
        """The protocol that fits: the situation's own, else the category's."""
        return SITUATION_PROTOCOLS[self.situation] or self.category


def load(folder: Path, splits: Iterable[str] = SPLITS) -> list[Message]:
    wanted = set(splits)
    if wanted - set(SPLITS):
        raise EvalError(f"unknown split(s) {', '.join(sorted(wanted - set(SPLITS)))}; use {', '.join(SPLITS)}")
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise EvalError(f"{folder}: no corpus files (*.toml)")
    messages, seen = [], set()
    for path in files:
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise EvalError(f"{path.name}: cannot read: {exc}") from None
        for number, raw in enumerate(data.get("message", []), start=1):
            where = f"{path.name}: message {raw.get('id', number)}"
            try:
                message = Message(str(raw["id"]), str(raw["lang"]), str(raw["text"]), bool(raw["emergency"]),
                                  str(raw["category"]), str(raw["situation"]), str(raw["kind"]),
                                  str(raw["split"]))
            except KeyError as exc:
                raise EvalError(f"{where}: missing field {exc}") from None
            for value, allowed, what in ((message.category, CATEGORIES, "category"),
                                         (message.situation, SITUATION_PROTOCOLS, "situation"),
                                         (message.kind, KINDS, "kind"), (message.split, SPLITS, "split")):
                if value not in allowed:
                    raise EvalError(f"{where}: unknown {what} {value!r}")
            if message.id in seen:
                raise EvalError(f"{where}: id {message.id!r} used twice")
            seen.add(message.id)
            if message.split in wanted:
                messages.append(message)
    return messages


@dataclass(frozen=True)
class Scored:
    message: Message
    reply: str
    protocol: str  # the protocol the reply came from
    flagged: bool  # the reply treats it as an emergency (names the number first, urgent priority)
    fit: str  # "exact", "fallback" (its category's text, written to be safe for it), "universal" (the general
    # help text: safe, but without the situation's first aid) or "wrong"
    dangerous: tuple[str, ...]  # contraindications of the real situation the reply contains
    names_number: bool
    sms: int
    questions: int  # questions the reply asks back
    ms: float


def _sms_sent(reply, asked: str) -> int:
    """How many SMS the reply takes as the agent sends it (the sender's own compression, GSM-7 unless the
    sender's script needs UCS-2)."""
    return as_sent(reply, keep_ucs2=needs_ucs2(asked)).segments


def _protocol_of(sources: tuple[str, ...]) -> str:
    for source in sources:
        if source.startswith("EVY protocol "):
            return source.removeprefix("EVY protocol ").split(":", 1)[0].split("/", 1)[1]
    return "general"


def _fit(expected: str, got: str) -> str:
    if got == expected:
        return "exact"
    if got in library.UNIVERSAL_FALLBACKS:
        return "universal"
    return "fallback" if expected in library.stands_in_for(got) else "wrong"


def score(messages: list[Message], config: Config) -> list[Scored]:
    """Each message as the first of its own case, answered as the agent answers it (the conversation around
    the responder: the protocol, its one question, the case code), on a scratch database."""
    responder = BrainResponder(config, llm=False)
    results = []
    with tempfile.TemporaryDirectory() as scratch, Store.open(Path(scratch) / "evy.db") as store:
        conversation = Conversation(config, store, responder)
        for number, message in enumerate(messages, start=1):
            inbound = Inbound(number, f"+1{number:010d}", message.text, datetime.now(UTC))
            start = time.perf_counter()
            reply = conversation.answer(inbound).reply or responder.respond(inbound)
            elapsed = (time.perf_counter() - start) * 1000
            got = _protocol_of(reply.sources)
            expected = message.protocol
            known = expected in set(library.keys())
            dangerous = tuple(library.contraindications(reply.text, message.language, [expected])) if known else ()
            results.append(Scored(message, reply.text, got, reply.emergency,
                                  _fit(expected, got) if known else "wrong", dangerous,
                                  config.emergency_number in reply.text, _sms_sent(reply, message.text),
                                  sum(line.rstrip().endswith("?") for line in reply.text.splitlines()), elapsed))
    return results


def _rate(hits: int, total: int) -> float | None:
    return None if total == 0 else round(hits / total, 3)


def _figures(results: list[Scored]) -> dict:
    single = [r for r in results if r.message.kind != "followup"]
    emergencies = [r for r in single if r.message.emergency]
    calm = [r for r in single if not r.message.emergency]
    return {
        "messages": len(single),
        "emergencies_recognised": _rate(sum(r.flagged for r in emergencies), len(emergencies)),
        "false_alarms": sum(r.flagged for r in calm),
        "non_emergencies": len(calm),
        "category_accuracy": _rate(sum(r.protocol in _in_category(r.message.category) for r in emergencies),
                                   len(emergencies)),
        "protocol_exact": _rate(sum(r.fit == "exact" for r in emergencies), len(emergencies)),
        "protocol_exact_or_fallback": _rate(sum(r.fit in ("exact", "fallback") for r in emergencies),
                                            len(emergencies)),
        "protocol_universal": _rate(sum(r.fit == "universal" for r in emergencies), len(emergencies)),
        "protocol_wrong": _rate(sum(r.fit == "wrong" for r in emergencies), len(emergencies)),
        "dangerous_replies": sum(bool(r.dangerous) for r in single),
    }


def _in_category(category: str) -> set[str]:
    return {category, *library.STANDS_IN_FOR.get(category, ())}


def summarise(results: list[Scored], *, details: bool = False) -> dict:
    """Figures overall and by language, category and kind, and the category confusion of emergencies
    (``not_flagged``: the reply did not treat it as one)."""
    by: dict[str, dict[str, list[Scored]]] = {"language": defaultdict(list), "category": defaultdict(list),
                                             "kind": defaultdict(list)}
    for result in results:
        by["language"][result.message.language].append(result)
        by["category"][result.message.category].append(result)
        by["kind"][result.message.kind].append(result)
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    for result in results:
        if result.message.emergency and result.message.kind != "followup":
            predicted = next((c for c in CATEGORIES if result.protocol in _in_category(c)), "other")
            confusion[result.message.category][predicted if result.flagged else "not_flagged"] += 1
    summary = {
        **_figures(results),
        "number_named_in_flagged": _rate(sum(r.flagged and r.names_number for r in results),
                                         sum(r.flagged for r in results)),
        "max_sms": max((r.sms for r in results), default=0),
        "sms_per_first_reply": round(statistics.fmean(r.sms for r in results), 2) if results else None,
        "questions_per_first_reply": round(statistics.fmean(r.questions for r in results), 2) if results else None,
        "first_reply_ms_median": round(statistics.median(r.ms for r in results), 3) if results else None,
        "by_language": {key: _figures(value) for key, value in sorted(by["language"].items())},
        "by_category": {key: _figures(value) for key, value in sorted(by["category"].items())},
        "by_kind": {key: _figures(value) for key, value in sorted(by["kind"].items())},
        "confusion": {key: dict(value) for key, value in sorted(confusion.items())},
    }
    if details:
        summary["misses"] = [{"id": r.message.id, "text": r.message.text, "expected": r.message.protocol,
                              "got": r.protocol, "flagged": r.flagged, "dangerous": list(r.dangerous)}
                             for r in results if r.fit != "exact" or r.dangerous
                             or r.flagged != r.message.emergency]
    return summary



def table(summary: dict) -> str:
    """The figures by language and by category as a plain table (stderr)."""
    columns = ("messages", "emergencies_recognised", "false_alarms", "protocol_exact", "protocol_exact_or_fallback",
               "protocol_wrong", "dangerous_replies")
    heads = ("msgs", "recognised", "false alarms", "exact protocol", "or its category's", "wrong protocol",
             "dangerous")
    lines = [f"{'':<16}" + "".join(f"{head:>18}" for head in heads)]
    rows = [("all", summary), *summary["by_language"].items(), *summary["by_category"].items()]
    for name, figures in rows:
        cells = ["-" if figures[key] is None else str(figures[key]) for key in columns]
        lines.append(f"{name:<16}" + "".join(f"{cell:>18}" for cell in cells))
    return "\n".join(lines)
