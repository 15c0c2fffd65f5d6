"""What the responder may spend: the local model, a knowledge-base follow-up, or templates only.

- below ``power.templates_only_below`` (20%) battery: the protocol template only, no follow-up at all;
- below ``power.llm_min_battery`` (30%) battery, or less than ``power.llm_min_free_mb`` free memory: no local
  model, but a follow-up of retrieved knowledge-base text is still allowed;
- an unknown battery or unknown free memory limits nothing (a kit on mains has no battery to read).

Once limited by the battery, a level must climb ``power.hysteresis_pct`` above the threshold before the limit
lifts, so a voltage estimate sagging under the model's own load does not flip the budget every message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from evy.power.reading import Resources

Limit = Literal["battery", "memory"]


@dataclass(frozen=True)
class Budget:
    allow_llm: bool
    allow_followup: bool
    reason: str
    limited_by: Limit | None = None

    @property
    def mode(self) -> str:
        if self.allow_llm:
            return "full"
        return "rag-only" if self.allow_followup else "templates-only"

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "allow_llm": self.allow_llm, "allow_followup": self.allow_followup,
                "reason": self.reason, "limited_by": self.limited_by}


UNLIMITED = Budget(True, True, "no resource monitor")


def decide(resources: Resources, config: Any, previous: Budget | None = None) -> Budget:
    pct, free = resources.battery_pct, resources.free_mb
    lift = config["power.hysteresis_pct"] if previous is not None and previous.limited_by == "battery" else 0
    templates_below = config["power.templates_only_below"] + (lift if previous and not previous.allow_followup else 0)
    llm_below = config["power.llm_min_battery"] + (lift if previous and not previous.allow_llm else 0)
    if pct is not None and pct < templates_below:
        return Budget(False, False, f"battery {pct}% < {templates_below}%: templates only", "battery")
    if pct is not None and pct < llm_below:
        return Budget(False, True, f"battery {pct}% < {llm_below}%: knowledge-base follow-ups, no model",
                      "battery")
    min_free = config["power.llm_min_free_mb"]
    battery = "battery unknown" if pct is None else f"battery {pct}%"
    if free is not None and free < min_free:
        return Budget(False, True, f"{battery}, {free} MB free < {min_free} MB: knowledge-base follow-ups, no model",
                      "memory")
    memory = "free memory unknown" if free is None else f"{free} MB free"
    return Budget(True, True, f"{battery}, {memory}: model allowed")
