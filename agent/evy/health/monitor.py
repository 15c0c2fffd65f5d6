"""The /health JSON for monitors (Uptime Kuma, a fleet's poller): one status word, the HTTP status to answer
with, and the attention codes, small enough to poll every few seconds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evy.health.attention import Severity, attention
from evy.health.collect import KitHealth, collect
from evy.store import Store

if TYPE_CHECKING:
    from evy.config import Config


def summary(health: KitHealth) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body): 503 "down" when anything critical needs attention (the agent stopped, no modem
    or network, a flat battery...), 200 "degraded" for warnings, 200 "ok" otherwise."""
    items = attention(health)
    severities = {item.severity for item in items}
    status = "down" if Severity.CRITICAL in severities else "degraded" if Severity.WARNING in severities else "ok"
    outbox = health.queues["outbox"]
    return (503 if status == "down" else 200), {
        "status": status,
        "checked_at": health.at,
        "agent_running": health.agent_running,
        "modem": health.modem.state,
        "signal_dbm": health.modem.signal_dbm,
        "battery_pct": (health.power or {}).get("battery_pct"),
        "queued_replies": outbox["queued"],
        "messages_waiting": health.queues["inbox"]["messages_new"],
        "attention": [{"code": item.code, "severity": str(item.severity), "problem": item.problem}
                      for item in items],
    }


def health_json(store: Store, config: Config) -> tuple[int, dict[str, Any]]:
    """What /health answers: read the kit's health from the store and summarise it."""
    return summary(collect(store, config, history_hours=0))
