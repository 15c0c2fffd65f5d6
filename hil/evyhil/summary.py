"""The one-page result of a HIL run (out/hil/summary.md), from pytest's JUnit XML and the figures."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from .errors import HilError

FIGURES = [
    ("boot_to_agent_ready_s", "Boot: power-on to agent ready", "s"),
    ("first_boot_to_shell_s", "First boot: power-on to console shell", "s"),
    ("sms_round_trip_s", "SMS round trip (emergency → reply)", "s"),
    ("power_cut_cycles_survived", "Power-cut cycles survived", ""),
    ("power_cut_cycles", "Power-cut cycles done", ""),
    ("power_cut_replies", "Replies after the power cuts", ""),
    ("power_idle_w", "Power, idle", "W"),
    ("power_busy_w", "Power, busy", "W"),
]


@dataclass(frozen=True)
class Outcome:
    name: str
    result: str  # passed | failed | error | skipped
    seconds: float
    detail: str = ""


def read_junit(path: Path) -> list[Outcome]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise HilError(f"cannot read the JUnit report {path}: {exc}") from exc
    outcomes = []
    for case in root.iter("testcase"):
        result, detail = "passed", ""
        for tag in ("failure", "error", "skipped"):
            element = case.find(tag)
            if element is not None:
                result = {"failure": "failed"}.get(tag, tag)
                detail = (element.get("message") or element.text or "").strip().splitlines()
                detail = detail[0] if detail else ""
                break
        name = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
        outcomes.append(Outcome(name, result, float(case.get("time", 0) or 0), detail))
    return outcomes


def render(env: str, image: str, outcomes: list[Outcome], figures: dict) -> str:
    counts = {kind: sum(o.result == kind for o in outcomes) for kind in ("passed", "failed", "error", "skipped")}
    verdict = "PASS" if outcomes and not counts["failed"] and not counts["error"] else "FAIL"
    lines = [
        f"# EVY HIL run: {verdict}",
        "",
        f"- Environment: `{env}`",
        f"- Image: `{image}`",
        f"- Started: {figures.get('started', '?')}",
        f"- Tests: {counts['passed']} passed, {counts['failed']} failed, {counts['error']} errors, "
        f"{counts['skipped']} skipped",
        "",
        "## Figures",
        "",
        "| Figure | Value |",
        "| --- | --- |",
    ]
    for key, label, unit in FIGURES:
        if key in figures:
            lines.append(f"| {label} | {figures[key]}{' ' + unit if unit else ''} |")
    lines += ["", "## Tests", "", "| Test | Result | Time | Detail |", "| --- | --- | --- | --- |"]
    for outcome in outcomes:
        name, detail = (text.replace("|", "\\|") for text in (outcome.name, outcome.detail[:160]))
        lines.append(f"| {name} | {outcome.result} | {outcome.seconds:.1f} s | {detail} |")
    return "\n".join(lines) + "\n"


def write(out: Path, env: str, image: str, junit: Path) -> str:
    figures_path = out / "figures.json"
    figures = json.loads(figures_path.read_text()) if figures_path.exists() else {}
    text = render(env, image, read_junit(junit) if junit.exists() else [], figures)
    (out / "summary.md").write_text(text)
    return text
