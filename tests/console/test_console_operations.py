"""The console's pages over the operations modules (kit health, /metrics, /health, broadcasts, local
information), mounted when those modules are installed; skipped where they are not (before the merge)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from evy.console.app import create_app
from evy.console.web import Console
from evy.store import Store

from .conftest import OBSERVER_PASSWORD, SENDER, add_case, console_config
from .test_console_app import csrf, login

pytest.importorskip("evy.health.monitor")
pytest.importorskip("evy.broadcast.send")
pytest.importorskip("evy.localinfo.answer")


@pytest.fixture()
def client(database: Path, password_hashes):
    with TestClient(create_app(Console(console_config(password_hashes), database)),
                    base_url="http://127.0.0.1:8080") as client:
        yield client


def test_metrics_and_health_answer_machines_without_a_login(client: TestClient, database: Path) -> None:
    with Store.open(database) as store:
        add_case(store, SENDER, ["help"], time.time())
    metrics = client.get("/metrics")
    assert metrics.status_code == 200 and 'evy_cases{status="new"} 1.0' in metrics.text
    health = client.get("/health")
    assert health.status_code == 503 and health.json()["status"] == "down"  # no agent has recorded its health
    assert client.get("/kit", follow_redirects=False).status_code == 303


def test_the_kit_page_lists_what_needs_attention(client: TestClient) -> None:
    login(client)
    page = client.get("/kit").text
    assert "Kit health" in page and "The SMS agent is not running" in page and "Fix:" in page
    assert "Kit health" in client.get("/").text  # in the menu
    data = client.get("/api/kit").json()
    assert data["attention"][0]["code"] == "agent_not_running"


def test_the_kit_page_and_metrics_show_a_big_node_and_what_it_answered(client: TestClient, database: Path) -> None:
    from evy.health.recorder import SOURCE
    from evy.store import health as store_health

    now = time.time()
    neighbour = {"node": "e5000002", "heard_at": now - 30, "hops": 1, "battery_pct": None, "charging": False,
                 "cellular": False, "queue_depth": 0, "big_model": True}
    mesh = {"node": "e5000001", "neighbours": [neighbour], "airtime_used_s": 1.5, "airtime_allowed_s": 360.0,
            "delivered": 3, "gave_up": 0, "relayed": 0,
            "offload": {"asking": {"asked": 2, "in_time": 1, "late": 1}, "serving": None}}
    with Store.open(database) as store:
        store_health.record(store, SOURCE, {
            "started_at": now - 600, "pid": 1, "power": None,
            "modem": {"state": "ready", "signal": 20, "registered": True, "operator": "Safaricom",
                      "last_error": None, "sim_used": 2, "sim_total": 20, "unregistered_since": None},
            "mesh": mesh, "model": {"state": "ready"}}, None, now)
    login(client)
    page = client.get("/kit").text
    assert "<th>Bigger model</th>" in page and "<td>0</td><td>yes</td></tr>" in page
    metrics = client.get("/metrics").text
    assert 'evy_offload_answers_total{outcome="in_time"} 1.0' in metrics and "evy_offload_asked_total 2.0" in metrics
    assert 'evy_offload_answers_total{outcome="late"} 1.0' in metrics and "evy_offload_served" not in metrics


def subscribe(database: Path, numbers: list[str]) -> None:
    from evy.store import broadcasts

    with Store.open(database) as store, store.transaction() as db:
        for number in numbers:
            broadcasts.subscribe(db, number, "en")


def test_a_broadcast_shows_its_cost_first_and_is_sent_once(client: TestClient, database: Path) -> None:
    subscribe(database, ["+254700000001", "+254700000002", "+254700000003"])
    login(client)
    token = csrf(client, "/broadcasts")
    text = "Water truck at the market today 9-12. Bring containers."
    preview = client.post("/broadcasts/preview", data={"csrf": token, "text": text, "audience": "subscribers"})
    assert "3 SMS</strong>: 3 people × 1 SMS" in preview.text
    key = re.search(r'name="key" value="([^"]+)"', preview.text).group(1)
    form = {"csrf": token, "key": key, "text": text, "audience": "subscribers", "hours": ""}
    assert "queued: 3 SMS to 3 people" in client.post("/broadcasts", data=form).text
    assert "already sent" in client.post("/broadcasts", data=form).text
    with Store.open(database) as store:
        rows = store.db.execute("SELECT recipient, priority FROM outbox WHERE kind = 'broadcast'").fetchall()
    assert len(rows) == 3
    page = client.get("/broadcasts").text
    assert text in page and "3 queued" in page


def test_an_observer_cannot_broadcast(client: TestClient, database: Path) -> None:
    subscribe(database, ["+254700000001"])
    login(client, "observer", OBSERVER_PASSWORD)
    assert "See the cost" not in client.get("/broadcasts").text
    refused = client.post("/broadcasts/preview", data={"csrf": csrf(client), "text": "x", "audience": "subscribers"})
    assert refused.status_code == 403


def test_local_information_is_added_escaped_and_removed(client: TestClient) -> None:
    login(client)
    token = csrf(client, "/local")
    added = client.post("/local", data={"csrf": token, "topic": "shelter", "language": "",
                                        "text": "St Mary's <b>school</b>, open day and night", "hours": "24"})
    assert "local information saved" in added.text and "&lt;b&gt;school&lt;/b&gt;" in added.text
    number = re.search(r'action="/local/(\d+)/remove"', added.text).group(1)
    assert "Nothing set" in client.post(f"/local/{number}/remove", data={"csrf": token}).text
    refused = client.post("/local", data={"csrf": token, "topic": "weather", "text": "sunny", "hours": "2"})
    assert refused.status_code == 400 and "unknown topic" in refused.text
