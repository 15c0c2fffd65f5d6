"""Run the agent as a service: build it (:mod:`evy.pipeline.assemble`), survive modem and store faults (a
damaged database, a full disk), feed systemd's watchdog only while the loop makes progress, stop cleanly on
SIGTERM.

Only what comes before READY is imported with this module (the config, the store, the notifier): the rest
of the pipeline is imported once systemd knows the agent is up.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import TYPE_CHECKING

from evy.config import Config
from evy.crash import crashpoint
from evy.errors import EvyError
from evy.pipeline.assemble import assembled, remember_rejected_pin, wait_for_a_human
from evy.pipeline.assemble import database_path as database_path  # `evy status` and `evy cases` use it
from evy.pipeline.sdnotify import Notifier
from evy.sms.errors import PinError
from evy.store import StoreCorrupt, salvage

if TYPE_CHECKING:
    from evy.pipeline.agent import Agent

log = logging.getLogger("evy.run")

STEP = 1.0  # longest the loop waits before checking for a stop request


def serve(agent: Agent, stop: threading.Event, step: float = STEP) -> None:
    """The main loop. A damaged database is moved aside and a fresh store takes over; a store in memory
    (the disk was full at start) goes back to disk when there is room, and the messages the SIM kept meanwhile
    are then stored and freed. A full disk or a modem fault pauses the work (nothing is lost: an unstored
    message stays on the SIM, an unsent reply in the outbox) and it resumes by itself; only a PIN problem
    stops it. ``step`` is the longest the loop waits before it looks at ``stop`` again."""
    pause = 1.0
    while not stop.is_set():
        try:
            if not agent.store.durable:
                agent.notifier.status(f"degraded: {agent.store.degraded}; answering from memory")
                if agent.store.persist():
                    agent.notifier.status("receiving")
                    crashpoint("after_persist")
                    agent.read_sim_storage()  # what the SIM kept while the store was in memory
            agent.step(max_wait=step)
            pause = 1.0
        except PinError as exc:
            remember_rejected_pin(agent.config, agent.store)
            log.error("%s; waiting for a fixed modem.pin and a restart (a PIN is never retried)", exc)
            agent.notifier.status(f"SIM locked: {exc}")
            wait_for_a_human(stop, agent.notifier)
        except StoreCorrupt as exc:
            agent.notifier.status(f"degraded: {exc}; starting a fresh store")
            salvage.replace_damaged(agent.store, str(exc))
        except EvyError as exc:  # a full disk, a modem fault, anything else the agent can name
            log.error("%s; retrying in %.0f s", exc, pause)
            agent.notifier.status(f"degraded: {exc}")
            stop.wait(pause)
            pause = min(pause * 2, 60.0)


def run(config: Config, stop: threading.Event | None = None) -> int:
    stop = stop or threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        if threading.current_thread() is threading.main_thread():
            signal.signal(signum, lambda *_: stop.set())
    with assembled(config, stop, Notifier()) as agent:
        if agent is not None:
            serve(agent, stop)
    log.info("stopped")
    return 0
