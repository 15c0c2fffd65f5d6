"""What the kit tells the coordination cell about itself: its health (the console's /health summary) and a
metrics snapshot (the counts behind /metrics, without the histogram), both small enough for a satellite."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evy.health.collect import collect
from evy.health.monitor import summary
from evy.store import Store, downlink, uplink
from evy.store import metrics as figures

if TYPE_CHECKING:
    from evy.config import Config


def health_snapshot(store: Store, config: Config, now: float) -> dict[str, Any]:
    _, body = summary(collect(store, config, now=now, history_hours=0))
    body["uplink"] = uplink.depth(store)
    counts = downlink.summary(store, recent=0)
    body["downlink"] = {"applied": counts["applied"], "refused": counts["refused"]}
    return body


def metrics_snapshot(store: Store, now: float) -> dict[str, Any]:
    sent = replies = 0
    latency = 0.0
    for group in figures.outbox_groups(store):
        if group.state in figures.SENT:
            sent += group.count
        if group.bucket is not None:
            replies += group.count
            latency += group.latency_sum
    return {
        "at": now,
        "received": [{"category": c, "priority": p, "messages": n} for c, p, n in figures.received_by_category(store)],
        "sent": sent,
        "first_reply_mean_s": round(latency / replies, 2) if replies else None,
        "queued_by_priority": {str(k): v for k, v in figures.queued_by_priority(store).items()},
        "cases_by_status": figures.cases_by_status(store),
        "inbox": figures.inbox_depths(store),
    }
