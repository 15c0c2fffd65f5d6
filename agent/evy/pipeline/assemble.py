"""The one way the agent is built: `evy run`, `evy sim`, the tests and the benchmarks all go through
:func:`assembled`, so they exercise the wiring a field kit runs.

Each part is built after what it needs, and this module's exit stack is the one owner that closes it, in
reverse order::

    store ─> READY ─> modem ─> power monitor ─> responder ─> mesh link (and bigEVY) ─> agent (started)

The responder and the mesh link both read the power monitor, so neither closes it; the agent uses every
part and closes none. systemd hears READY as soon as the store is open: the rest of the pipeline is imported
after it, while the kit already says what it waits for, and before the first message is read, so the first
answer waits for nothing extra; the mesh (asyncio, its crypto) is imported only by a kit that joins it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from evy import backends
from evy.config import Config
from evy.config.core import updates_dir
from evy.config.loader import with_updates
from evy.pipeline.sdnotify import Notifier
from evy.power import open_monitor
from evy.sms import modem as modem_api
from evy.sms.errors import ModemError, PinError
from evy.store import Store, StoreCorrupt, StoreError, StoreFull, modem_state, salvage

if TYPE_CHECKING:
    from evy.pipeline.agent import Agent
    from evy.pipeline.meshlink import MeshLink
    from evy.power import ResourceMonitor
    from evy.responder.base import Responder

log = logging.getLogger("evy.run")
T = TypeVar("T")

RESPONDER_CLOSE_TIMEOUT = 3.0  # seconds a model mid-answer gets to stop before the process exits without it


def database_path(config: Config) -> Path:
    return Path(config["data_dir"]) / "evy.db"


@contextlib.contextmanager
def assembled(config: Config, stop: threading.Event, notifier: Notifier, *,
              responder: Responder | None = None) -> Iterator[Agent | None]:
    """The started agent, every part it needs open; on exit each part is closed once, newest first.

    Yields None when ``stop`` is set before the modem opens (or a refused PIN has been waited out).
    ``responder`` replaces the configured one (tests give a scripted one); it is closed here all the same.
    """
    config = with_updates(config)  # settings the coordination cell changed by signed update
    with contextlib.ExitStack() as parts:
        store = Store.open(database_path(config), recover=True)
        _owned(parts, "store", store.close)
        # Ready means serving: the agent is up and says what it waits for, so a missing modem does not make
        # systemd restart it over and over.
        notifier.ready("opening the modem")
        modem = open_modem_patiently(config, stop, store, notifier)
        if modem is None:
            yield None
            return
        _owned(parts, "modem", modem.close)

        from evy.pipeline.agent import Agent  # imported after READY: the rest of the pipeline
        from evy.protocols import updates as protocol_updates

        protocol_updates.use(updates_dir(config["data_dir"]) / "protocols")  # the cell's, checked again
        parts.callback(protocol_updates.use, None)  # process-wide: a kit closed leaves the shipped library
        power = open_monitor(config)
        _owned(parts, "power monitor", power.close)
        if responder is None:
            responder = backends.make("responder", config, power=power)
        _owned(parts, "responder", lambda: close_responder(responder))
        mesh = start_mesh(config, modem, power) if config["mesh.enabled"] else None
        if mesh is not None:
            _owned(parts, "mesh link", mesh.stop)
            if hasattr(responder, "offload_to"):
                responder.offload_to(mesh)  # routine follow-ups may ask a big node (evy.offload)
        from evy.fleet.uplink import start_fleet_uplink
        from evy.meshtastic import start_gateway

        fleet = on_a_full_disk(store, lambda: start_fleet_uplink(config, store, mesh))  # None while fleet is off
        if fleet is not None:
            _owned(parts, "fleet uplink", fleet.stop)
        meshtastic = start_gateway(config)
        if meshtastic is not None:
            _owned(parts, "Meshtastic node", lambda: meshtastic.close(store))
        agent = Agent(config, modem, store, responder, mesh, meshtastic)
        parts.callback(notifier.stopping)  # the agent itself holds nothing: the way out begins here
        started = time.monotonic()
        start_agent(agent)
        log.info("agent ready in %.2f s (emergency number %s)", time.monotonic() - started,
                 config.emergency_number)
        yield agent


def _owned(parts: contextlib.ExitStack, name: str, close: Callable[[], object]) -> None:
    def closing() -> None:
        log.debug("closing the %s", name)
        close()

    parts.callback(closing)


def close_responder(responder: Responder, timeout: float = RESPONDER_CLOSE_TIMEOUT) -> None:
    """Release the responder's models; a model mid-answer gets ``timeout`` seconds, then is left to die
    with the process (its worker exits when the agent's end of the pipe closes)."""
    closer = threading.Thread(target=responder.close, name="evy-close", daemon=True)
    closer.start()
    closer.join(timeout)
    if closer.is_alive():
        log.warning("the responder did not close within %.0f s; exiting anyway", timeout)


# -- the modem ---------------------------------------------------------------------------------------------


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


def note_modem_state(store: Store, **values: str) -> None:
    """Modem state for `evy status`; a store that cannot take it must not stop the modem from opening."""
    try:
        modem_state.record(store, **values)
    except StoreError as exc:
        log.warning("modem state not recorded: %s", exc)


# -- the mesh and the agent --------------------------------------------------------------------------------


def start_mesh(config: Config, modem: modem_api.Modem, power: ResourceMonitor | None) -> MeshLink | None:
    """Join the LoRa mesh. Without a network key (there is no public default) or a working radio the kit
    stays off the mesh and keeps answering SMS."""
    from evy.mesh.errors import MeshError
    from evy.pipeline.meshlink import MeshLink

    mesh = MeshLink(config, coverage=lambda: modem.status().registered, power=power)
    try:
        mesh.start()
    except MeshError as exc:
        log.error("not joining the mesh: %s", exc)
        return None
    return mesh


def on_a_full_disk(store: Store, step: Callable[[], T]) -> T:
    """Run a step of the start that writes to the store. A disk that filled up after the store opened is met
    as a full disk at start: the store goes on in memory (what the SIM holds stays there until it can be
    stored), the step runs again, and the main loop moves the store back to disk when there is room."""
    while True:
        try:
            return step()
        except StoreFull as exc:
            if not store.durable:
                raise
            store.work_from_memory(str(exc))


def start_agent(agent: Agent) -> None:
    """Start the agent; a database found damaged on the way is salvaged and the start tried again."""
    while True:
        try:
            on_a_full_disk(agent.store, agent.start)
            return
        except StoreCorrupt as exc:
            salvage.replace_damaged(agent.store, str(exc))
