"""The cell's read-only view over HTTP on loopback: the fleet summary, the board and a person's cases."""

from __future__ import annotations

import json
import urllib.request

from evy.config import parse
from evy.fleet.broker import free_port
from evy.fleet.events import Event
from evy.hq.db import HqDatabase
from evy.hq.view import serve_view


def test_the_view_serves_the_fleet_the_board_and_one_person(tmp_path):
    path = tmp_path / "hq.sqlite"
    with HqDatabase(path) as database:
        database.ingest(Event("kit-a", 1, "cases", "case.opened", 1.0, 3,
                              {"case": 1, "sender": "+254700000001", "opened_at": 1.0, "status": "new",
                               "priority": 3}), 1.0)
    port = free_port()
    server = serve_view(parse(f'[hq]\ndatabase = "{path}"\nlisten = "127.0.0.1:{port}"'))
    try:
        def get(route: str) -> bytes:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{route}", timeout=5) as response:
                return response.read()

        fleet = json.loads(get("/fleet.json"))
        assert (fleet["events"], fleet["stale"], fleet["kits"][0]["kit"]) == (1, ["kit-a"], "kit-a")
        assert [c["sender"] for c in json.loads(get("/cases.json"))] == ["+254700000001"]
        assert len(json.loads(get("/person.json?sender=%2B254700000001"))) == 1
        assert b"<td>kit-a</td>" in get("/")
    finally:
        server.shutdown()
