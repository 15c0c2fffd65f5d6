"""What needs a person's attention on the kit, each with a severity and what to do about it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from evy.health.collect import KitHealth


class Severity(StrEnum):
    CRITICAL = "critical"  # people's messages are, or soon will be, not answered
    WARNING = "warning"  # it works now; left alone, it will not
    INFO = "info"


@dataclass(frozen=True)
class Attention:
    code: str  # stable, for monitors and tests
    severity: Severity
    problem: str  # what is wrong, with the figure
    fix: str  # what a person on site can do

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}


def attention(health: KitHealth) -> list[Attention]:
    """Everything that needs attention, most severe first."""
    found = [item for check in CHECKS if (item := check(health)) is not None]
    return sorted(found, key=lambda item: ORDER[item.severity])


def _agent(health: KitHealth) -> Attention | None:
    if health.agent_running:
        return None
    since = "has never recorded its health" if health.snapshot_at is None else \
        f"last recorded its health {_ago(health.at - health.snapshot_at)} ago"
    return Attention("agent_not_running", Severity.CRITICAL, f"The SMS agent is not running: it {since}.",
                     "Check it with `systemctl status evy` and its log with `journalctl -u evy -e`; "
                     "`systemctl restart evy` starts it again.")


def _modem(health: KitHealth) -> Attention | None:
    modem = health.modem
    if modem.state == "sim-locked":
        return Attention("sim_locked", Severity.CRITICAL, f"The SIM is locked: {modem.last_error or 'PIN refused'}.",
                         "Put the SIM's PIN in modem.pin (or remove the PIN with a phone), then restart evy. "
                         "A refused PIN is never tried again, to keep the SIM from locking for good.")
    if modem.state in ("down", "resetting"):
        return Attention("modem_down", Severity.CRITICAL,
                         f"The modem is {modem.state}: {modem.last_error or 'no answer'}.",
                         "Check the modem's power and its cable or HAT; the agent retries by itself.")
    return None


def _network(health: KitHealth) -> Attention | None:
    since = health.modem.unregistered_since
    if since is None or health.at - since < health.limits.no_network_after:
        return None
    return Attention("no_network", Severity.CRITICAL,
                     f"No mobile network for {_ago(health.at - since)}: replies are waiting.",
                     "Check the antenna is screwed on and the SIM has credit and is active; move the kit or its "
                     "antenna higher. Replies wait in the outbox (or go over the mesh to a kit with coverage).")


def _sim(health: KitHealth) -> Attention | None:
    used = health.modem.sim_used_pct
    if used is None or used < health.limits.sim_full_pct:
        return None
    return Attention("sim_almost_full", Severity.WARNING,
                     f"The SIM's message storage is {health.modem.sim_used}/{health.modem.sim_total} full.",
                     "The agent frees each slot once the message is stored: if it stays full, the store may be "
                     "failing (see the disk and store figures). A full SIM makes the network hold new messages.")


def _battery(health: KitHealth) -> Attention | None:
    battery = (health.power or {}).get("battery_pct")
    if battery is None or battery >= health.limits.battery_low_pct:
        return None
    charging = (health.power or {}).get("charging")
    return Attention("battery_low", Severity.CRITICAL if battery < 10 else Severity.WARNING,
                     f"Battery at {battery}%{' (charging)' if charging else ''}.",
                     "Check the solar panel faces the sun, is clean and its cable connected; the kit already "
                     "answers with short templates only to save power.")


def _clock(health: KitHealth) -> Attention | None:
    if health.clock_synchronised is not False:
        return None
    return Attention("clock_unsynchronised", Severity.WARNING, "The clock is not synchronised.",
                     "Connect the kit to a network with time (NTP) or set it with `date -s`; message times, case "
                     "ages and airtime limits rely on it.")


def _disk(health: KitHealth) -> Attention | None:
    if health.disk is None or health.disk.used_pct <= health.limits.disk_high_pct:
        return None
    severe = health.disk.used_pct >= 95
    return Attention("disk_high", Severity.CRITICAL if severe else Severity.WARNING,
                     f"The data partition is {health.disk.used_pct:.0f}% full.",
                     "Export the cases you need, then lower store.retention_days or remove old files from the "
                     "data partition (never evy.db).")


def _store(health: KitHealth) -> Attention | None:
    state = health.store.get("state", "ok")
    if state == "ok":
        return None
    return Attention("store_degraded", Severity.CRITICAL, f"The database is {state}.",
                     "Make room on the data partition; the agent moves the database back to disk by itself.")


def _airtime(health: KitHealth) -> Attention | None:
    mesh = health.mesh
    if mesh is None or not mesh.airtime_allowed_s or mesh.airtime_used_s < 0.9 * mesh.airtime_allowed_s:
        return None
    return Attention("airtime_high", Severity.INFO,
                     f"Mesh airtime {mesh.airtime_used_s:.0f} of {mesh.airtime_allowed_s:.0f} s this hour.",
                     "Routine mesh traffic waits; emergencies keep their share. Nothing to do unless it lasts.")


def _model(health: KitHealth) -> Attention | None:
    if not health.model or health.model.get("state") != "model unavailable":
        return None
    return Attention("model_unavailable", Severity.WARNING, "The local model could not be opened.",
                     "Replies use protocols and the knowledge base only; run `evy models verify` and see the log.")


CHECKS = (_agent, _modem, _network, _sim, _battery, _clock, _disk, _store, _airtime, _model)


def _ago(seconds: float) -> str:
    minutes = int(max(0, seconds) // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"
