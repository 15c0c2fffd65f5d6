"""The cell's read-only view on hq.listen: `/fleet.json` (kits, stale ones, counts, people seen on several
kits), `/cases.json` (every kit's cases), `/person.json?sender=...`, and `/` a plain HTML board. Each request
reads the database on a connection of its own; nothing here writes."""

from __future__ import annotations

import html
import json
import threading
import time
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

from evy.hq.db import HqDatabase

if TYPE_CHECKING:
    from evy.config import Config


def fleet_summary(database: HqDatabase, now: float, stale_after: float) -> dict[str, Any]:
    kits = database.kits(now, stale_after)
    return {**database.counts(), "stale": [kit["kit"] for kit in kits if kit["stale"]], "kits": kits,
            "people_on_several_kits": database.people_on_several_kits()}


def board_html(database: HqDatabase, now: float, stale_after: float) -> str:
    kits = database.kits(now, stale_after)
    rows = "".join(
        f"<tr><td>{html.escape(c.kit)}</td><td>{c.case_id}</td><td>{html.escape(c.sender)}</td>"
        f"<td>{html.escape(c.status)}</td><td>{c.priority}</td><td>{'yes' if c.emergency else ''}</td>"
        f"<td>{html.escape(c.category or '')}</td><td>{html.escape(c.location or '')}</td>"
        f"<td>{c.messages_in}/{c.messages_out}</td></tr>" for c in database.board())
    kit_rows = "".join(
        f"<tr><td>{html.escape(k['kit'])}</td><td>{'STALE' if k['stale'] else 'ok'}</td>"
        f"<td>{round(now - k['last_seen'])} s ago</td><td>{k['events']}</td>"
        f"<td>{html.escape(str((k['health'] or {}).get('status', '')))}</td></tr>" for k in kits)
    return ("<!doctype html><meta charset=utf-8><title>EVY fleet</title><h1>Kits</h1>"
            "<table border=1><tr><th>kit<th>contact<th>last seen<th>events<th>health</tr>" + kit_rows +
            "</table><h1>Cases</h1><table border=1><tr><th>kit<th>case<th>sender<th>status<th>priority"
            "<th>emergency<th>category<th>location<th>in/out</tr>" + rows + "</table>")


def serve_view(config: Config) -> ThreadingHTTPServer:
    host, _, port = config["hq.listen"].rpartition(":")
    path, stale_after = config["hq.database"], config["hq.stale_after"]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            with HqDatabase(path) as database:
                now = time.time()
                if url.path == "/fleet.json":
                    self._send(json.dumps(fleet_summary(database, now, stale_after)), "application/json")
                elif url.path == "/cases.json":
                    self._send(json.dumps([asdict(c) for c in database.board()]), "application/json")
                elif url.path == "/person.json":
                    sender = parse_qs(url.query).get("sender", [""])[0]
                    self._send(json.dumps([asdict(c) for c in database.linked(sender)]), "application/json")
                elif url.path == "/":
                    self._send(board_html(database, now, stale_after), "text/html; charset=utf-8")
                else:
                    self.send_error(404)

        def _send(self, body: str, kind: str) -> None:
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), Handler)
    threading.Thread(target=server.serve_forever, name="evy-hq-view", daemon=True).start()
    return server
