"""Handing a case to a neighbour kit from the console: only to a kit in the mesh's neighbour table heard lately,
only by an operator, never a closed case, once per form and one at a time. (Over the mesh itself, with two
agents: tests/pipeline/test_mesh_case_handover.py.)"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from evy.cases.code import case_code
from evy.console.app import create_app
from evy.console.web import Console
from evy.store import Store
from evy.store import handovers as handover_store
from evy.store import health as store_health

from .conftest import OBSERVER_PASSWORD, SENDER, add_case, console_config
from .test_console_app import csrf, form_key, login

NEAR, STALE = "e5000023", "e5000031"


@pytest.fixture()
def client(database: Path, password_hashes):
    now = time.time()
    with Store.open(database) as store:
        store_health.record(store, "agent", {"mesh": {"node": "e5000011", "neighbours": [
            {"node": NEAR, "heard_at": now - 30, "hops": 1}, {"node": STALE, "heard_at": now - 7200, "hops": 2},
            {"node": "<script>", "heard_at": now, "hops": 1}]}}, None, now)
        add_case(store, SENDER, ["fire near the river"], now - 60, priority=0, category="fire")
    console = Console(console_config(password_hashes), database)
    with TestClient(create_app(console), base_url="http://127.0.0.1:8080") as client:
        client.store = console.store.get()
        yield client


def hand_over(client: TestClient, kit: str, key: str | None = None):
    page = client.get(f"/cases/{case_code(1)}").text
    return client.post(f"/cases/{case_code(1)}/handover", follow_redirects=False, data={
        "csrf": csrf(client, f"/cases/{case_code(1)}"), "kit": kit,
        "key": key or form_key(page, f"/cases/{case_code(1)}/handover")})


def test_the_case_page_offers_the_neighbours_heard_lately(client: TestClient) -> None:
    login(client)
    page = client.get(f"/cases/{case_code(1)}").text
    assert re.findall(r'<option value="([^"]+)">', page.split('class="handover"')[1]) == [NEAR]
    assert "<script>" not in page


def test_a_hand_over_is_queued_once_with_its_audit_row(client: TestClient) -> None:
    login(client)
    done = hand_over(client, NEAR, key="k1")
    assert done.status_code == 303 and "being%20handed%20to%20kit%20e5000023" in done.headers["location"]
    again = hand_over(client, NEAR, key="k1")
    assert "already%20asked%20for" in again.headers["location"]
    [handover] = handover_store.for_case(client.store, 1)
    assert (handover.direction, handover.peer, handover.state) == ("out", NEAR, "queued")
    assert [tuple(row) for row in client.store.db.execute("SELECT action, detail FROM audit_log WHERE case_id = 1")
            ] == [("handover", f"to kit {NEAR}")]
    second = hand_over(client, NEAR, key="k2")  # a second while the first is on its way
    assert second.status_code == 400 and "already being handed over" in second.text
    assert len(handover_store.for_case(client.store, 1)) == 1
    assert "waiting for the mesh" in client.get(f"/cases/{case_code(1)}").text


@pytest.mark.parametrize(("kit", "reason"), [(STALE, "not a neighbour heard in the last hour"),
                                             ("e5000099", "not a neighbour"), ("", "not a neighbour")])
def test_only_a_neighbour_heard_lately_may_take_a_case(client: TestClient, kit: str, reason: str) -> None:
    login(client)
    refused = hand_over(client, kit)
    assert refused.status_code == 400 and reason in refused.text
    assert handover_store.for_case(client.store, 1) == []


def test_an_observer_cannot_and_a_closed_case_is_never_handed_over(client: TestClient) -> None:
    login(client, "observer", OBSERVER_PASSWORD)
    assert hand_over(client, NEAR, key="o1").status_code == 403
    client.cookies.clear()
    login(client)
    client.post(f"/cases/{case_code(1)}/status", data={"csrf": csrf(client), "status": "closed", "key": "c1"})
    refused = client.post(f"/cases/{case_code(1)}/handover", follow_redirects=False,
                          data={"csrf": csrf(client), "kit": NEAR, "key": "c2"})
    assert refused.status_code == 400 and "closed" in refused.text
    assert handover_store.for_case(client.store, 1) == []


def test_the_json_api_hands_over_too(client: TestClient) -> None:
    login(client)
    answer = client.post(f"/api/cases/{case_code(1)}/handover", json={"kit": NEAR, "key": "api-1"},
                         headers={"x-csrf-token": csrf(client)})
    message = f"case {case_code(1)} is being handed to kit {NEAR} over the mesh"
    assert answer.json() == {"done": True, "message": message}
    assert [h.state for h in handover_store.for_case(client.store, 1)] == ["queued"]
