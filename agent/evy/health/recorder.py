"""The agent's side of the kit's health: every ``health.snapshot_interval`` seconds it records what only it
knows (modem, SIM storage, mesh neighbours and airtime, model, battery) in the store for the console, and
rewrites the node_exporter textfile when one is set (on a thread of its own).

It is called from the agent's loop and must never hold it up or stop it: everything it reads is cached or
answers within a second, and a failure is logged and skipped (the next snapshot tries again).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evy.errors import EvyError
from evy.power.reading import PowerReading
from evy.sms import modem as modem_api
from evy.store import Store, StoreCorrupt
from evy.store import health as store_health

if TYPE_CHECKING:
    from evy.config import Config
    from evy.pipeline.meshlink import MeshLink
    from evy.responder.base import Responder

log = logging.getLogger("evy.health")

SOURCE = "agent"
PRUNE_EVERY = 3600.0


class HealthRecorder:
    def __init__(self, config: Config, store: Store, modem: modem_api.Modem, responder: Responder,
                 mesh: MeshLink | None = None, *, clock: Callable[[], float] = time.time):
        self.config, self.store, self.modem, self.responder, self.mesh = config, store, modem, responder, mesh
        self.clock = clock
        self.started_at = clock()
        self._next = 0.0
        self._last_prune = 0.0
        self._unregistered_since: float | None = None
        self._textfile_thread: threading.Thread | None = None

    def maybe_record(self) -> bool:
        """Record a snapshot when one is due; True when it did."""
        now = self.clock()
        self._track_registration(now)
        if now < self._next:
            return False
        self._next = now + self.config["health.snapshot_interval"]
        try:
            self.record(now)
        except StoreCorrupt:
            raise  # the agent's loop moves a damaged database aside
        except (EvyError, OSError) as exc:  # a full disk, a busy database: the next snapshot tries again
            log.warning("health snapshot not recorded: %s", exc)
            return False
        return True

    def record(self, now: float) -> None:
        power = self._power()
        store_health.record(self.store, SOURCE, self.snapshot(now, power), power, now)
        if now - self._last_prune >= PRUNE_EVERY:
            self._last_prune = now
            store_health.prune(self.store, now - self.config["health.history_days"] * 86400)
        textfile = self.config["health.textfile"]
        if textfile and self.store.durable:
            self._write_textfile(textfile)

    def _write_textfile(self, path: Path) -> None:
        """Counting every figure reads the whole store (tenths of a second with 10,000 cases): it runs on a
        thread of its own with its own connection, so the loop goes on; one write at a time."""
        if self._textfile_thread is not None and self._textfile_thread.is_alive():
            return

        def write() -> None:
            from evy.metrics.textfile import write_textfile

            try:
                with Store.open(self.store.path) as reader:
                    write_textfile(reader, self.config, path)
            except (EvyError, OSError, ImportError) as exc:
                log.warning("node_exporter textfile %s not written: %s", path, exc)

        self._textfile_thread = threading.Thread(target=write, name="evy-textfile", daemon=True)
        self._textfile_thread.start()

    def snapshot(self, now: float, power: PowerReading | None = None) -> dict[str, Any]:
        status = self.modem.status()
        capacity = getattr(self.modem, "capacity", None)  # (used, total) of the SIM's storage, when known
        return {
            "pid": os.getpid(),
            "started_at": self.started_at,
            "modem": {
                "state": status.state, "signal": status.signal, "registered": status.registered,
                "operator": status.operator, "last_error": status.last_error,
                "sim_used": capacity[0] if capacity else None, "sim_total": capacity[1] if capacity else None,
                "unregistered_since": self._unregistered_since,
            },
            "mesh": self.mesh.snapshot() if self.mesh is not None else None,
            "model": self._model(),
            "power": power.to_dict() if power is not None else None,
        }

    def _track_registration(self, now: float) -> None:
        registered = self.modem.status().registered
        if registered:
            self._unregistered_since = None
        elif self._unregistered_since is None:
            self._unregistered_since = now

    def _power(self) -> PowerReading | None:
        monitor = getattr(self.responder, "power", None)
        if monitor is None:
            return None
        try:
            return monitor.snapshot().power
        except Exception as exc:  # a gauge failing must not cost the snapshot
            log.debug("power reading unavailable: %s", exc)
            return None

    def _model(self) -> dict[str, Any]:
        knowledge = getattr(self.responder, "knowledge", None)
        responder = type(self.responder).__name__
        base = {"responder": responder, "llm_enabled": bool(self.config["llm.enabled"]),
                "rag_enabled": bool(self.config["rag.enabled"])}
        if knowledge is None:
            return {**base, "state": "templates only" if responder == "BasicResponder" else "protocols only"}
        status = knowledge.status()
        if not status["ready"]:
            return {**base, **status, "state": "opening"}
        if self.config["llm.enabled"] and status["model"] is None:
            return {**base, **status, "state": "model unavailable"}
        return {**base, **status, "state": "ready"}
