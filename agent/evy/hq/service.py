"""`evy hq`: subscribe to every kit's events and store each one once.

The cell holds a persistent session (clean session off, fixed client id, QoS 1 subscription), so the broker
keeps what kits publish while the cell is down. That session must exist before kits publish: the broker
drops what nobody is subscribed to, so start `evy hq` once before the first kit (docs/fleet.md).
paho acknowledges a QoS 1 message only after the message
callback returns, and the callback commits the event first: an event acknowledged to the broker is on the
cell's disk. A database failure ends the process inside the callback, unacknowledged, for systemd to
restart it; the broker delivers the event again.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any, NoReturn

from evy.fleet import events
from evy.fleet.link import connect_async, make_client
from evy.hq.db import EventNotApplied, HqDatabase
from evy.hq.outbox import is_downlink

if TYPE_CHECKING:
    from evy.config import Config

log = logging.getLogger("evy.hq")

EXIT_STORE_FAILED = 75  # EX_TEMPFAIL: systemd restarts the cell


class Cell:
    def __init__(self, config: Config, database: HqDatabase):
        self.config, self.database = config, database
        self.stored = self.duplicates = self.rejected = 0
        self.connected = threading.Event()
        self.client: Any = None

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, *rest: Any) -> None:
        if rc != 0:
            log.warning("broker refused the cell: %s", rc)
            return
        client.subscribe(events.SUBSCRIPTION, qos=1)

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, *rest: Any) -> None:
        self.connected.set()
        log.info("cell subscribed to %s", events.SUBSCRIPTION)

    def _on_disconnect(self, client: Any, userdata: Any, *rest: Any) -> None:
        self.connected.clear()

    def on_message(self, client: Any, userdata: Any, message: Any) -> None:
        now = time.time()
        if is_downlink(message.topic):
            return  # the cell's own downlink (to kits), seen again on its evy/v1/+/# subscription
        try:
            event = events.decode(message.topic, message.payload)
        except events.BadEvent as exc:
            self._reject(message, str(exc), now)
            return
        except Exception as exc:  # decoding is pure: whatever it raises is this message's fault
            self._reject(message, f"{message.topic}: unreadable event ({type(exc).__name__}: {exc})", now)
            return
        try:
            stored = self.database.ingest(event, now)
        except EventNotApplied as exc:
            self._reject(message, str(exc), now)
            return
        except Exception as exc:  # never return: returning would acknowledge an event that is not stored
            self._exit_unacknowledged(f"cannot store event {event.id}: {exc}")
        if stored:
            self.stored += 1
        else:
            self.duplicates += 1

    def _reject(self, message: Any, reason: str, now: float) -> None:
        """Keep a message the cell cannot apply in `rejected`; returning acknowledges it (it is never retried)."""
        reason = " ".join(reason.split())[:500]
        log.warning("rejected: %s", reason)
        try:
            self.database.reject(message.topic, bytes(message.payload), reason, now)
        except Exception as exc:
            self._exit_unacknowledged(f"cannot keep a rejected message: {exc}")
        self.rejected += 1

    @staticmethod
    def _exit_unacknowledged(why: str) -> NoReturn:
        log.critical("%s; exiting unacknowledged", why)
        os._exit(EXIT_STORE_FAILED)

    def run(self, stop: threading.Event) -> None:
        self.client = make_client(self.config, self.config["hq.client_id"])
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self.on_message
        self.client.on_subscribe = self._on_subscribe
        connect_async(self.client, self.config)
        self.client.loop_start()
        try:
            stop.wait()
        finally:
            self.client.disconnect()
            self.client.loop_stop()
