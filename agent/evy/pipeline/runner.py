"""Run the agent as a service: open store and modem, survive modem faults, stop cleanly on SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path

from evy.config import Config
from evy.mesh.errors import MeshError
from evy.pipeline.agent import Agent
from evy.pipeline.meshlink import MeshLink
from evy.pipeline.sdnotify import Notifier
from evy.responder.factory import make_responder
from evy.sms import modem as modem_api
from evy.sms.errors import ModemError, PinError
from evy.store import Store, StoreError

log = logging.getLogger("evy.run")

STEP = 1.0  # longest the loop waits before checking for a stop request


def database_path(config: Config) -> Path:
    return Path(config["data_dir"]) / "evy.db"


def open_modem_patiently(config: Config, stop: threading.Event, store: Store) -> modem_api.Modem | None:
    """Open the modem, retrying with backoff while it is absent or silent; a PIN problem is never retried."""
    delay = 1.0
    while not stop.is_set():
        modem = modem_api.make_modem(config)
        try:
            modem.open()
            return modem
        except PinError as exc:
            log.error("%s; not retrying (a wrong PIN retried would lock the SIM). Fix modem.pin and restart.",
                      exc)
            store.set_modem_state(state="sim-locked", last_error=str(exc))
            Notifier().ready(f"SIM locked: {exc}")
            stop.wait()
            return None
        except ModemError as exc:
            log.warning("modem not ready (%s); retrying in %.0f s", exc, delay)
            store.set_modem_state(state="down", last_error=str(exc))
            stop.wait(delay)
            delay = min(delay * 2, 60.0)
    return None


def start_mesh(config: Config, modem: modem_api.Modem) -> MeshLink | None:
    """Join the LoRa mesh. Without a network key (there is no public default) or a working radio the kit
    stays off the mesh and keeps answering SMS."""
    mesh = MeshLink(config, coverage=lambda: modem.status().registered, queue_depth=lambda: 0)
    try:
        mesh.start()
    except MeshError as exc:
        log.error("not joining the mesh: %s", exc)
        return None
    return mesh


def serve(agent: Agent, stop: threading.Event) -> None:
    """The main loop. A full disk or a modem fault pauses the work (nothing is lost: an unstored message
    stays on the SIM, an unsent reply in the outbox) and it resumes by itself; only a PIN problem stops it."""
    pause = 1.0
    while not stop.is_set():
        try:
            agent.step(max_wait=STEP)
            pause = 1.0
        except PinError as exc:
            log.error("%s; waiting for a fixed modem.pin and a restart (a PIN is never retried)", exc)
            agent.notifier.status(f"SIM locked: {exc}")
            stop.wait()
        except (StoreError, ModemError) as exc:
            log.error("%s; retrying in %.0f s", exc, pause)
            agent.notifier.status(f"degraded: {exc}")
            stop.wait(pause)
            pause = min(pause * 2, 60.0)


def run(config: Config, stop: threading.Event | None = None) -> int:
    stop = stop or threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        if threading.current_thread() is threading.main_thread():
            signal.signal(signum, lambda *_: stop.set())
    with Store.open(database_path(config)) as store:
        modem = open_modem_patiently(config, stop, store)
        if modem is None:
            return 0
        mesh = start_mesh(config, modem) if config["mesh.enabled"] else None
        agent = Agent(config, modem, store, make_responder(config), mesh)
        if mesh is not None:
            mesh.queue_depth = lambda: agent.queue_depth
        started = time.monotonic()
        try:
            agent.start()
            log.info("agent ready in %.2f s (emergency number %s)", time.monotonic() - started,
                     config.emergency_number)
            serve(agent, stop)
        finally:
            agent.notifier.stopping()
            agent.close()
            if mesh is not None:
                mesh.stop()
            modem.close()
    log.info("stopped")
    return 0
