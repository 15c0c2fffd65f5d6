"""The console in fleet mode, served by `evy hq console`: the kit console's login, sessions, CSRF checks,
templates and security headers (:class:`evy.console.web.WebConsole`) over the cell's database, with every
kit's cases on one board and one map, fleet health, stale kits, kit groups, and sends to kits.

A process of its own (as the kit's console is beside the agent): a console bug never stalls the ingest.
It publishes what operators send through its own MQTT connection (:class:`evy.hq.outbox.Publisher`).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from evy.config import Config
from evy.console.web import ExtraPage, WebConsole
from evy.hq.db import HqDatabase, HqError
from evy.hq.outbox import Publisher

if TYPE_CHECKING:
    from evy.downlink.send import Signer

log = logging.getLogger("evy.hq.console")


def _database_errors() -> tuple[type[Exception], ...]:
    try:
        import psycopg
    except ImportError:
        return (HqError, sqlite3.Error)
    return (HqError, sqlite3.Error, psycopg.Error)


class FleetConsole(WebConsole):
    """Everything the fleet console's routes share."""

    database_errors = _database_errors()
    database_unreadable = "the cell's database cannot be read now"

    def __init__(self, config: Config, database: HqDatabase, publisher: Publisher | None = None):
        super().__init__(config, "EVY fleet")
        self.database = database
        self.publisher = publisher
        self.signer = _signer(config)
        self.stale_after: float = config["hq.stale_after"]

    def nav_pages(self) -> list[ExtraPage]:
        return [ExtraPage("/", "Cases"), ExtraPage("/map", "Map"), ExtraPage("/kits", "Kits"),
                ExtraPage("/send", "Send"), ExtraPage("/groups", "Groups"), ExtraPage("/audit", "Audit log")]

    def audit(self, *, at: float, actor: str, address: str, action: str, detail: str = "") -> None:
        self.database.audit(at=at, actor=actor, address=address, action=action, detail=detail)

    def kits(self) -> list[dict[str, Any]]:
        return self.database.kits(time.time(), self.stale_after)

    def page_context(self, request: Request) -> dict[str, Any]:
        stale = [kit for kit in self.kits() if kit["stale"]] if self.session(request) is not None else []
        return {"stale_kits": stale, "stale_hours": self.stale_after / 3600}


def serve(config: Config, *, host: str | None = None, port: int | None = None) -> int:
    """Run the fleet console on hq.listen (or host and port) until SIGTERM."""
    import uvicorn

    from evy.console.auth import ConsoleError
    from evy.console.server import bind
    from evy.fleet.link import FleetError
    from evy.hq.pages import create_app

    listen_host, _, listen_port = (config["hq.listen"] or "").rpartition(":")
    host = host or listen_host
    if not host or not (port or listen_port.isdigit()):
        raise ConsoleError("hq.listen is empty: set it to host:port (e.g. 127.0.0.1:8091) for the fleet console")
    port = port or int(listen_port)
    with HqDatabase(config["hq.database"]) as database:
        publisher: Publisher | None = Publisher(config, database)
        console = FleetConsole(config, database, publisher)  # refuses to start without an operator password
        try:
            publisher.start()
        except FleetError as exc:
            log.warning("sends are recorded but not published until this is fixed: %s", exc)
            console.publisher = publisher = None
        sockets = bind((host,), port)
        server = uvicorn.Server(uvicorn.Config(create_app(console), log_level="warning", access_log=False,
                                               server_header=False, proxy_headers=False, lifespan="off"))
        log.warning("fleet console on http://%s:%d/", host, port)
        try:
            asyncio.run(server.serve(sockets=sockets))
        finally:
            if publisher is not None:
                publisher.stop()
            for sock in sockets:
                sock.close()
    return 0


def _signer(config: Config) -> Signer | None:
    """The cell's downlink key (downlink.signing_key); without one the console shows and records nothing to
    send, and says why (kits refuse unsigned messages)."""
    from evy.downlink.send import Signer

    path = config["downlink.signing_key"]
    if path is None:
        log.warning("no downlink.signing_key: the console cannot send to kits (make one with `evy hq keygen`)")
        return None
    return Signer.load(path)  # a KeyFileError (one line) stops the start: a key set but unusable is a mistake
