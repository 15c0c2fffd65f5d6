"""Helpers shared by the modem tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import time
from collections.abc import Callable

from evy.sms.modem import Modem, ModemEvent, ModemSettings
from evy.sms.simulator import ModemSimulator

# Short timeouts keep fault tests fast; a real modem uses the defaults from the settings table.
FAST = {"command_timeout": 0.5, "send_timeout": 2.0, "heartbeat": 60.0, "max_failed_heartbeats": 2,
        "retries": 3, "retry_backoff": 0.01, "probe_attempts": 2}


def at_settings(simulator: ModemSimulator, **changes: object) -> ModemSettings:
    return ModemSettings(port=simulator.port, profile=simulator.model, **{**FAST, **changes})


def collect_events(modem: Modem, until: Callable[[list[ModemEvent]], bool], timeout: float = 3.0
                   ) -> list[ModemEvent]:
    """Events from ``wait_events`` until ``until(events)`` holds; AssertionError after ``timeout``."""
    events: list[ModemEvent] = []
    deadline = time.monotonic() + timeout
    while not until(events):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"timed out waiting for events; got {events}"
        events += modem.wait_events(min(remaining, 0.5))
    return events


def of_type(events: list[ModemEvent], kind: type) -> list:
    return [event for event in events if isinstance(event, kind)]
