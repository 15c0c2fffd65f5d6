"""Run the agent as a service: open store and modem, survive modem and store faults (a damaged database, a
full disk), feed systemd's watchdog only while the loop makes progress, stop cleanly on SIGTERM."""

from __future__ import annotations

import hashlib
import logging
import signal
import threading
import time
from pathlib import Path

from evy.config import Config
from evy.crash import crashpoint
from evy.errors import EvyError
from evy.fleet.uplink import start_fleet_uplink
from evy.mesh.errors import MeshError
from evy.pipeline.agent import Agent
from evy.pipeline.meshlink import MeshLink
from evy.pipeline.sdnotify import Notifier
from evy.power.resources import ResourceMonitor
from evy.responder.factory import make_responder
from evy.sms import modem as modem_api
from evy.sms.errors import ModemError, PinError
from evy.store import Store, StoreCorrupt, StoreError, modem_state, salvage

log = logging.getLogger("evy.run")

STEP = 1.0  # longest the loop waits before checking for a stop request


def database_path(config: Config) -> Path:
    return Path(config["data_dir"]) / "evy.db"


def _pin_key(config: Config) -> str:
    return hashlib.sha256(f"{config['modem.port']}\0{config['modem.pin']}".encode()).hexdigest()


def remember_rejected_pin(config: Config, store: Store) -> None:
    """Across restarts and reboots too, a PIN the SIM refused is never entered again (3 tries PUK-lock it);
    only its hash is kept. A changed modem.pin is tried (once)."""
    pin = config["modem.pin"]
    if not pin:
        return
    if modem_state.rejected_pin(store) == _pin_key(config):
        modem_api.REJECTED_PINS.add((config["modem.port"], pin))
    elif (config["modem.port"], pin) in modem_api.REJECTED_PINS:
        modem_state.remember_rejected_pin(store, _pin_key(config))


def wait_for_a_human(stop: threading.Event, notifier: Notifier) -> None:
    """Wait until stopped, feeding the watchdog: the agent is healthy and waits on purpose (a refused PIN is
    never retried, so a restart could not help)."""
    while not stop.is_set():
        notifier.progress()
        stop.wait(1.0)


def open_modem_patiently(config: Config, stop: threading.Event, store: Store,
                         notifier: Notifier) -> modem_api.Modem | None:
    """Open the modem, retrying with backoff while it is absent or silent; a PIN problem is never retried."""
    delay = 1.0
    remember_rejected_pin(config, store)
    while not stop.is_set():
        modem = modem_api.make_modem(config)
        try:
            modem.open()
            return modem
        except PinError as exc:
            remember_rejected_pin(config, store)
            log.error("%s; not retrying (a wrong PIN retried would lock the SIM). Fix modem.pin and restart.",
                      exc)
            note_modem_state(store, state="sim-locked", last_error=str(exc))
            notifier.status(f"SIM locked: {exc}")
            wait_for_a_human(stop, notifier)
            return None
        except ModemError as exc:
            log.warning("modem not ready (%s); retrying in %.0f s", exc, delay)
            note_modem_state(store, state="down", last_error=str(exc))
            notifier.status(f"waiting for the modem: {exc}")
            stop.wait(delay)  # not progress: the watchdog is not fed, so a modem that never answers ends in a restart
            delay = min(delay * 2, 60.0)
    return None


def start_mesh(config: Config, modem: modem_api.Modem, power: ResourceMonitor | None) -> MeshLink | None:
    """Join the LoRa mesh. Without a network key (there is no public default) or a working radio the kit
    stays off the mesh and keeps answering SMS."""
    mesh = MeshLink(config, coverage=lambda: modem.status().registered, queue_depth=lambda: 0, power=power)
    try:
        mesh.start()
    except MeshError as exc:
        log.error("not joining the mesh: %s", exc)
        return None
    return mesh


def note_modem_state(store: Store, **values: str) -> None:
    """Modem state for `evy status`; a store that cannot take it must not stop the modem from opening."""
    try:
        modem_state.record(store, **values)
    except StoreError as exc:
        log.warning("modem state not recorded: %s", exc)


def start_agent(agent: Agent) -> None:
    """Start the agent; a database found damaged on the way is salvaged and the start tried again."""
    while True:
        try:
            agent.start()
            return
        except StoreCorrupt as exc:
            salvage.replace_damaged(agent.store, str(exc))


def serve(agent: Agent, stop: threading.Event) -> None:
    """The main loop. A damaged database is moved aside and a fresh store takes over; a store in memory
    (the disk was full at start) goes back to disk when there is room, and the messages the SIM kept meanwhile
    are then stored and freed. A full disk or a modem fault pauses the work (nothing is lost: an unstored
    message stays on the SIM, an unsent reply in the outbox) and it resumes by itself; only a PIN problem
    stops it."""
    pause = 1.0
    while not stop.is_set():
        try:
            if not agent.store.durable:
                agent.notifier.status(f"degraded: {agent.store.degraded}; answering from memory")
                if agent.store.persist():
                    agent.notifier.status("receiving")
                    crashpoint("after_persist")
                    agent.read_sim_storage()  # what the SIM kept while the store was in memory
            agent.step(max_wait=STEP)
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
    notifier = Notifier()
    with Store.open(database_path(config), recover=True) as store:
        # Ready means serving: the agent is up and says what it waits for, so a missing modem does not make
        # systemd restart it over and over.
        notifier.ready("opening the modem")
        modem = open_modem_patiently(config, stop, store, notifier)
        if modem is None:
            return 0
        responder = make_responder(config)
        power = getattr(responder, "power", None)  # the brain's battery/memory monitor, shared with the mesh
        mesh = start_mesh(config, modem, power) if config["mesh.enabled"] else None
        agent = Agent(config, modem, store, responder, mesh)
        if mesh is not None:
            mesh.queue_depth = lambda: agent.queue_depth
        fleet = start_fleet_uplink(config, store)  # None while fleet.enabled is off
        started = time.monotonic()
        try:
            start_agent(agent)
            log.info("agent ready in %.2f s (emergency number %s)", time.monotonic() - started,
                     config.emergency_number)
            serve(agent, stop)
        finally:
            agent.notifier.stopping()
            agent.close()
            if fleet is not None:
                fleet.stop()
            if mesh is not None:
                mesh.stop()
            modem.close()
    log.info("stopped")
    return 0
