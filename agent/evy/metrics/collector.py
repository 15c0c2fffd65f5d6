"""A Prometheus collector that reads the store on every scrape: nothing is kept in the process, so the
console (a separate process) serves the same figures the agent counted.

``registry(store, config)`` gives a registry with only this collector; ``render`` its text exposition.
Each metric is declared once here (one HELP text per name, as Prometheus requires).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from evy.health.attention import attention
from evy.health.collect import KitHealth, collect
from evy.messages import Priority
from evy.store import Store
from evy.store import broadcasts as store_broadcasts
from evy.store import downlink as store_downlink
from evy.store import health as store_health
from evy.store import metrics as figures

if TYPE_CHECKING:
    from evy.config import Config

__all__ = ["CONTENT_TYPE_LATEST", "StoreCollector", "registry", "render"]


def priority_name(value: int) -> str:
    try:
        return Priority(value).name.lower()
    except ValueError:
        return str(value)


class StoreCollector(Collector):
    def __init__(self, store: Store, config: Config):
        self.store, self.config = store, config

    def collect(self) -> Iterator[Metric]:
        groups = figures.outbox_groups(self.store)
        yield from self._messages(groups)
        yield from self._queues()
        yield from self._latency(groups)
        yield from self._kit(collect(self.store, self.config, history_hours=0))

    def _messages(self, groups: list[figures.OutboxGroup]) -> Iterator[Metric]:
        received = CounterMetricFamily("evy_messages_received", "Inbound SMS messages (multipart joined) by the "
                                       "category and priority of their case.", labels=["category", "priority"])
        for category, priority, count in figures.received_by_category(self.store):
            received.add_metric([category, priority_name(priority)], count)
        yield received
        sent = CounterMetricFamily("evy_messages_sent", "Outbound SMS messages that left (all parts), by kind "
                                   "(reply, followup, relay, broadcast), category and priority.",
                                   labels=["kind", "category", "priority"])
        finished = CounterMetricFamily("evy_outbox_finished", "Outbox entries that reached a final state.",
                                       labels=["kind", "state"])
        sent_counts: Counter[tuple[str, str, str]] = Counter()
        finished_counts: Counter[tuple[str, str]] = Counter()
        for group in groups:
            if group.state in figures.SENT:
                sent_counts[group.kind, group.category, priority_name(group.priority)] += group.count
            if group.state != "queued":
                finished_counts[group.kind, group.state] += group.count
        for labels, count in sorted(sent_counts.items()):
            sent.add_metric(list(labels), count)
        for labels, count in sorted(finished_counts.items()):
            finished.add_metric(list(labels), count)
        yield sent
        yield finished
        followups = CounterMetricFamily("evy_followups", "Follow-up answers sent, or dropped because the sender "
                                        "had written again.", labels=["outcome"])
        followups.add_metric(["sent"], sum(n for (kind, _, _), n in sent_counts.items() if kind == "followup"))
        followups.add_metric(["dropped"], store_health.event_counts(self.store).get(("followup_dropped", ""), 0))
        yield followups
        backlog = CounterMetricFamily("evy_meshtastic_backlog", "What the kit's Meshtastic node kept while the agent "
                                      "was not reading it: packets, texts, and times its queue was full (texts "
                                      "may then be lost, unnamed).", labels=["kind"])
        events = store_health.event_counts(self.store)
        for kind in ("packets", "texts", "full"):
            backlog.add_metric([kind], events.get(("meshtastic_backlog", kind), 0))
        yield backlog
        failures = CounterMetricFamily("evy_sms_send_failures", "Failed send attempts (modem or network errors).")
        failures.add_metric([], sum(group.attempts for group in groups))
        yield failures
        mesh = CounterMetricFamily("evy_mesh_handovers", "Replies handed to a kit with coverage over the mesh and "
                                   "acknowledged by it.")
        mesh.add_metric([], sum(n for (_, state), n in finished_counts.items() if state == "relayed"))
        yield mesh

    def _queues(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("evy_queue_depth", "Work waiting: inbound parts not yet joined, messages not yet "
                                  "answered, replies queued by priority.", labels=["queue", "priority"])
        for queue, count in figures.inbox_depths(self.store).items():
            depth.add_metric([queue, ""], count)
        queued = figures.queued_by_priority(self.store)
        for priority in Priority:
            depth.add_metric(["outbox", priority.name.lower()], queued.get(int(priority), 0))
        yield depth
        cases = GaugeMetricFamily("evy_cases", "Cases by status.", labels=["status"])
        for status, count in sorted(figures.cases_by_status(self.store).items()):
            cases.add_metric([status], count)
        yield cases
        subscribers = GaugeMetricFamily("evy_broadcast_subscribers", "People who texted JOIN (and not LEAVE/STOP).")
        subscribers.add_metric([], store_broadcasts.subscriber_count(self.store))
        yield subscribers
        downlink = CounterMetricFamily("evy_downlink_messages", "Signed messages from the coordination cell, by "
                                       "outcome (applied, refused) and kind.", labels=["outcome", "kind"])
        for outcome, kind, count in store_downlink.counts_by(self.store):
            downlink.add_metric([outcome, kind], count)
        yield downlink

    def _latency(self, groups: list[figures.OutboxGroup]) -> Iterator[Metric]:
        histogram = HistogramMetricFamily("evy_reply_latency_seconds", "Seconds from a message's arrival to its "
                                          "first reply having left, by priority.", labels=["priority"])
        bounds = figures.LATENCY_BUCKETS
        per_priority: dict[int, tuple[list[int], float]] = {}
        for group in groups:
            if group.bucket is None:
                continue
            counts, total = per_priority.get(group.priority, ([0] * (len(bounds) + 1), 0.0))
            counts[group.bucket] += group.count
            per_priority[group.priority] = counts, total + group.latency_sum
        for priority, (counts, total) in sorted(per_priority.items()):
            cumulative = list(itertools.accumulate(counts))
            buckets = [(_le(bound), cumulative[i]) for i, bound in enumerate(bounds)]
            histogram.add_metric([priority_name(priority)], [*buckets, ("+Inf", cumulative[-1])], total)
        yield histogram

    def _kit(self, health: KitHealth) -> Iterator[Metric]:
        yield _gauge("evy_agent_up", "1 while the agent records its health on time.", int(health.agent_running))
        if health.snapshot_at is not None:
            yield _gauge("evy_agent_snapshot_timestamp_seconds", "When the agent last recorded its health.",
                         health.snapshot_at)
        modem = health.modem
        state = GaugeMetricFamily("evy_modem_state", "The modem's state (1 for the current one).", labels=["state"])
        for name in ("ready", "not-registered", "sim-locked", "resetting", "down", "unknown"):
            state.add_metric([name], int(modem.state == name))
        yield state
        if modem.signal is not None:
            yield _gauge("evy_modem_signal_csq", "Signal quality, AT+CSQ rssi 0-31 (99 unknown).", modem.signal)
        if modem.signal_dbm is not None:
            yield _gauge("evy_modem_signal_dbm", "Signal strength in dBm.", modem.signal_dbm)
        if modem.sim_used is not None and modem.sim_total:
            yield _gauge("evy_modem_sim_used_ratio", "Share of the SIM's message storage in use.",
                         modem.sim_used / modem.sim_total)
        power = health.power or {}
        for key, name, help_text in (("battery_pct", "evy_battery_percent", "Battery charge in percent."),
                                     ("volts", "evy_battery_volts", "Battery voltage."),
                                     ("watts", "evy_battery_watts", "Battery power in watts: positive while "
                                      "charging (solar), negative while discharging.")):
            if power.get(key) is not None:
                yield _gauge(name, help_text, power[key])
        if power.get("charging") is not None:
            yield _gauge("evy_battery_charging", "1 while the battery charges.", int(power["charging"]))
        if health.mesh is not None:
            yield _gauge("evy_mesh_airtime_used_seconds", "Mesh airtime used in the last hour.",
                         health.mesh.airtime_used_s)
            yield _gauge("evy_mesh_airtime_allowed_seconds", "Mesh airtime the band allows per hour.",
                         health.mesh.airtime_allowed_s)
            yield _gauge("evy_mesh_neighbours", "Kits heard on the mesh (by their beacons).",
                         len(health.mesh.neighbours))
            delivered = CounterMetricFamily("evy_mesh_delivered", "Mesh messages delivered to this kit since the "
                                            "agent started.")
            delivered.add_metric([], health.mesh.delivered)
            yield delivered
            yield from _offload(health.mesh.offload)
        if health.disk is not None:
            yield _gauge("evy_data_partition_used_ratio", "Share of the data partition in use.",
                         health.disk.used_pct / 100)
        if health.clock_synchronised is not None:
            yield _gauge("evy_clock_synchronised", "1 when the kernel says the clock is synchronised.",
                         int(health.clock_synchronised))
        needs = GaugeMetricFamily("evy_attention", "Things that need a person's attention (see the console).",
                                  labels=["code", "severity"])
        for item in attention(health):
            needs.add_metric([item.code, str(item.severity)], 1)
        yield needs


def _offload(figures: dict[str, Any]) -> Iterator[CounterMetricFamily]:
    """bigEVY: this kit's questions to big nodes and their fate; a big node's answers and refusals."""
    asking, serving = figures.get("asking") or {}, figures.get("serving")
    if asking:
        asked = CounterMetricFamily("evy_offload_asked", "Routine questions this kit asked a big node since the "
                                    "agent started.")
        asked.add_metric([], asking.get("asked", 0))
        yield asked
        answers = CounterMetricFamily("evy_offload_answers", "Big nodes' answers by fate: in_time (then vetted "
                                      "like the kit's own model's), late, wrong_request, wrong_node.",
                                      labels=["outcome"])
        for outcome, count in asking.items():
            if outcome != "asked":
                answers.add_metric([outcome], count)
        yield answers
    if serving is not None:
        served = CounterMetricFamily("evy_offload_served", "Other kits' requests this big node answered or "
                                     "refused (refused_emergency, refused_busy, refused_rate_limited).",
                                     labels=["outcome"])
        for outcome, count in serving.items():
            served.add_metric([outcome], count)
        yield served


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, value=value)


def _le(bound: float) -> str:
    return f"{bound:g}" if bound != int(bound) else f"{bound:.1f}"


def registry(store: Store, config: Config) -> CollectorRegistry:
    """A registry with only the store's figures (no process metrics of whichever process serves them)."""
    found = CollectorRegistry(auto_describe=False)
    found.register(StoreCollector(store, config))
    return found


def render(store: Store, config: Config) -> bytes:
    """The /metrics body (serve it with ``CONTENT_TYPE_LATEST``)."""
    return generate_latest(registry(store, config))
