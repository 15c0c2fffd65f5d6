"""The console in fleet mode over real HTTP in process (Starlette's test client) on a real cell database
(SQLite, and PostgreSQL):
login as the kit console does it, every kit's cases on one board and map with a kit filter, the same person
linked across kits, stale kits flagged on every page, fleet health, kit groups, sends recorded once (a second
click sends nothing), CSRF and roles enforced, and a sender's text escaped."""

from __future__ import annotations

import re
import time

import pytest
from starlette.testclient import TestClient

from evy.hq import groups, outbox
from evy.hq.console import FleetConsole
from evy.hq.db import HqDatabase
from evy.hq.pages import create_app

from .conftest import OBSERVER_PASSWORD, OPERATOR_PASSWORD, SHARED_SENDER, XSS, fill_fleet, fleet_config


@pytest.fixture()
def client(hq_location, fleet_password_hashes, signing_key):
    path = hq_location()  # a SQLite file, then a schema on a real PostgreSQL
    database = HqDatabase(path)
    fill_fleet(database, time.time())
    console = FleetConsole(fleet_config(fleet_password_hashes, path, downlink__signing_key=str(signing_key)), database)
    with TestClient(create_app(console), base_url="http://127.0.0.1:8091") as client:
        client.console = console
        yield client
    database.close()


def login(client: TestClient, account: str = "operator", password: str = OPERATOR_PASSWORD):
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    return client.post("/login", data={"csrf": token, "account": account, "password": password},
                       follow_redirects=False)


def csrf(client: TestClient, path: str = "/send") -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


def key(page: str, kind: str) -> str:
    form = page[page.index(f'name="kind" value="{kind}"') - 300:]
    return re.search(r'name="key" value="([^"]+)"', form).group(1)


def test_pages_need_a_login_and_a_right_password(client):
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert client.get("/api/fleet").status_code == 401
    assert login(client, password="wrong password").status_code == 401
    assert login(client).status_code == 303
    assert [entry["action"] for entry in client.console.database.audit_entries()] == ["login", "login-failed"]


def test_the_board_holds_every_kits_cases_filters_by_kit_and_links_one_person(client):
    login(client)
    board = client.get("/").text
    assert re.findall(r'<td class="kit">([^<]+)</td>', board) == ["kit-a", "kit-b", "kit-b", "kit-c", "kit-a"]
    only_b = client.get("/?kit=kit-b").text
    assert re.findall(r'<td class="kit">([^<]+)</td>', only_b) == ["kit-b", "kit-b"]
    assert "also on 1 other kit" in board and "/person?sender=%2B254711000222" in board
    person = client.get("/person", params={"sender": SHARED_SENDER}).text
    assert "2 case(s) on 2 kit(s)" in person
    case = client.get("/kits/kit-a/cases/1").text
    assert "/kits/kit-b/cases/7" in case and "fire at the market" in case
    assert XSS not in case and "&lt;script&gt;" in case
    rows = client.get("/board/rows?kit=kit-a").text
    assert rows.count('<td class="kit">kit-a</td>') == 2 and "kit-b" not in rows


def test_a_stale_kit_is_flagged_on_every_page_and_fleet_health_shows_the_latest_snapshot(client):
    login(client)
    for path in ("/", "/map", "/send", "/groups"):
        banner = re.search(r'<p class="flash error stale"[^>]*>(.*?)</p>', client.get(path).text, re.S).group(1)
        assert "1 stale kit" in banner and "kit-c" in banner and "kit-a" not in banner
    kits = client.get("/kits").text
    assert re.search(r'id="kit-kit-c" class="stale">.*?STALE', kits, re.S)
    assert 'id="kit-kit-a" class="fresh"' in kits and "battery under 20%" in kits and "18%" in kits
    fleet = client.get("/api/fleet").json()
    assert fleet["stale"] == ["kit-c"] and fleet["people_on_several_kits"][0]["kits"] == 2


def test_the_kits_page_shows_what_the_cell_rejected_and_why(client):
    login(client)
    assert "0 kept, never applied" in client.get("/kits").text
    client.console.database.reject("evy/v1/kit-a/cases", b"{", "evy/v1/kit-a/cases: payload is not JSON <x>", 1.0)
    kits = client.get("/kits").text
    assert "1 kept, never applied" in kits and "payload is not JSON &lt;x&gt;" in kits


def test_a_case_relayed_over_the_mesh_says_which_kit_relayed_it(client):
    from evy.fleet.events import Event

    login(client)
    assert "via kit" not in client.get("/kits/kit-a/cases/1").text
    client.console.database.ingest(Event("kit-a", 9, "cases", "message.in", time.time(), 0,
                                         {"case": 1, "sender": SHARED_SENDER, "text": "still burning"},
                                         via="kit-b"), time.time())
    case = client.get("/kits/kit-a/cases/1").text
    assert "reached the cell via kit kit-b over the mesh" in case
    assert re.search(r"still burning</span><span class=\"meta\">[^<]*· via kit kit-b", case)


def test_health_answers_monitors_without_a_login_and_without_sender_data(client):
    health = client.get("/health").json()
    assert (health["status"], health["kits"], health["stale_kits"], health["broker_connected"]) == (
        "degraded", 3, 1, False)
    assert SHARED_SENDER not in client.get("/health").text


def test_the_map_plots_every_kits_open_cases_and_filters_by_kit(client):
    login(client)
    page = client.get("/map").text
    assert sorted(re.findall(r'class="case-point" data-kit="([^"]+)"', page)) == ["kit-a", "kit-a", "kit-b"]
    assert "2 open case(s) without coordinates" in page
    only_a = client.get("/map?kit=kit-a").text
    assert sorted(re.findall(r'class="case-point" data-kit="([^"]+)"', only_a)) == ["kit-a", "kit-a"]


def test_groups_are_edited_and_a_send_to_a_group_is_recorded_once_per_kit(client):
    login(client)
    token = csrf(client, "/groups")
    assert client.post("/groups", data={"csrf": token, "name": "north", "kit": ["kit-a", "kit-b"],
                                        "more": "kit-z"}).status_code == 200
    assert groups.groups(client.console.database) == {"north": ["kit-a", "kit-b", "kit-z"]}
    client.post("/groups/north/remove", data={"csrf": token, "kit": "kit-z"})
    page = client.get("/send").text
    assert 'value="group:north"' in page and "not connected to the broker" in page.lower()
    form = {"csrf": token, "key": key(page, "broadcast"), "kind": "broadcast", "target": "group:north",
            "audience": "subscribers", "text": "Water at the school from 14:00"}
    done = client.post("/send", data=form)
    assert "broadcast #1 sent to group:north: 2 message(s)" in done.text
    assert "already sent" in client.post("/send", data=form).text  # a second click
    (sent,) = outbox.recent(client.console.database)
    assert [m["topic"] for m in sent["messages"]] == ["evy/v1/kit-a/down/broadcast", "evy/v1/kit-b/down/broadcast"]
    assert [m["published_at"] for m in sent["messages"]] == [None, None]  # no broker: kept to publish later
    assert "kit-a: waiting" in client.get("/send").text
    local = {"csrf": token, "key": "k2", "kind": "localinfo", "target": "all", "topic": "water", "language": "",
             "valid_hours": "12", "text": "Water point at the school"}
    # (PostgreSQL numbers it #3: the refused second click used up a number)
    assert re.search(r"localinfo #[23] sent to all: 1 message\(s\)", client.post("/send", data=local).text)
    assert [row["action"] for row in client.console.database.audit_entries()][:2] == ["send-localinfo",
                                                                                      "send-broadcast"]


def test_the_send_page_shows_per_kit_what_each_kit_made_of_each_message(client):
    import hashlib

    from evy.fleet.events import Event

    login(client)
    database = client.console.database
    sent = outbox.send(database, None, "broadcast", "all", {"text": "Road closed", "audience": "subscribers"},
                       signer=client.console.signer, requested_by="operator")
    (body,) = [row["body"] for row in outbox.unpublished(database) if row["request"] == sent.request]
    digest = hashlib.sha256(body.encode()).hexdigest()
    page = client.get("/send").text
    assert re.findall(r'<li class="outcome o-([^"]+)" data-kit="kit-a">', page) == ["waiting"]
    now = time.time()
    outcome = {"topic": "evy/v1/all/down/broadcast", "signer": "ab" * 8, "seq": 1, "kind": "broadcast",
               "target": "all", "digest": digest}
    database.ingest(Event("kit-a", 50, "downlink", "downlink.applied", now, 4,
                          {**outcome, "reason": "broadcast queued for 12 subscribers"}), now)
    database.ingest(Event("kit-b", 50, "downlink", "downlink.refused", now, 4,
                          {**outcome, "reason": "bad signature (claims signer abababababababab) <b>"}), now)
    database.ingest(Event("kit-c", 50, "downlink", "downlink.refused", now, 4,  # about another message
                          {**outcome, "digest": "0" * 64, "reason": "a replay"}), now)
    page = client.get("/send").text
    found = {kit: outcome for outcome, kit in re.findall(r'<li class="outcome o-([^"]+)" data-kit="([^"]+)">', page)}
    assert found == {"kit-a": "applied", "kit-b": "refused", "kit-c": "waiting"}
    assert "kit-a: applied (broadcast queued for 12 subscribers)" in page
    assert "kit-b: refused: bad signature (claims signer abababababababab) &lt;b&gt;" in page
    assert "a replay" not in page


def test_bad_sends_are_refused_with_the_reason(client):
    login(client)
    token = csrf(client)
    for form, reason in (({"kind": "broadcast", "target": "group:nobody", "audience": "subscribers", "text": "x"},
                          "no kits"),
                         ({"kind": "broadcast", "target": "all", "audience": "everyone", "text": "x"}, "audience"),
                         ({"kind": "broadcast", "target": "kit:a/b", "audience": "subscribers", "text": "x"},
                          "choose all"),
                         ({"kind": "localinfo", "target": "all", "topic": "water", "valid_hours": "x", "text": "x"},
                          "not a number"),
                         ({"kind": "broadcast", "target": "all", "audience": "subscribers", "text": "  "}, "empty")):
        answer = client.post("/send", data={"csrf": token, **form})
        assert answer.status_code == 400 and reason in answer.text, (form, answer.text[-400:])
    assert outbox.recent(client.console.database) == []


def test_csrf_origin_and_roles_are_enforced(client):
    login(client)
    form = {"kind": "broadcast", "target": "all", "audience": "subscribers", "text": "hello"}
    assert client.post("/send", data=form).status_code == 403
    assert client.post("/send", data={"csrf": csrf(client), **form},
                       headers={"origin": "http://evil.example"}).status_code == 403
    client.cookies.clear()
    login(client, "observer", OBSERVER_PASSWORD)
    assert "Send broadcast" not in client.get("/send").text
    assert client.post("/send", data={"csrf": csrf(client), **form}).status_code == 403
    assert client.post("/groups", data={"csrf": csrf(client), "name": "x", "kit": "kit-a"}).status_code == 403
    assert outbox.recent(client.console.database) == [] and groups.groups(client.console.database) == {}
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["content-security-policy"] and headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(("settings", "complaint"), [
    ("", "no operator password"),
    ('[hq]\nlisten = ""\n[console]\noperator_password_hash = "{operator}"\n', "hq.listen is empty"),
])
def test_the_fleet_console_refuses_to_start_and_says_why(tmp_path, fleet_password_hashes, settings, complaint):
    import os
    import subprocess
    import sys
    from pathlib import Path

    config = tmp_path / "hq.toml"
    config.write_text(f'[hq]\ndatabase = "{tmp_path / "hq.sqlite"}"\n' if not settings else
                      settings.format(operator=fleet_password_hashes[0]).replace(
                          "[hq]\n", f'[hq]\ndatabase = "{tmp_path / "hq.sqlite"}"\n'))
    done = subprocess.run([sys.executable, "-m", "evy", "hq", "console", "--config", str(config)], timeout=60,
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "agent")})
    assert done.returncode != 0 and complaint in done.stderr and done.stderr.count("\n") == 1, done.stderr
