"""The console app over a real database through Starlette's test client (HTTP in process): login, lockout,
CSRF, roles, escaping, replies exactly once, status SMS, exports and the JSON API. The browser tests
(test_console_browser.py) drive the same pages in a real Chromium against a running kit."""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from evy.cases.code import case_code
from evy.config import parse
from evy.console.app import create_app
from evy.console.auth import ConsoleError
from evy.console.web import Console
from evy.store import Store
from evy.store import console as console_store
from evy.store.optouts import set_opted_out

from .conftest import OBSERVER_PASSWORD, OPERATOR_PASSWORD, SENDER, add_case, console_config

XSS = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'


@pytest.fixture()
def client(database: Path, password_hashes):
    console = Console(console_config(password_hashes), database)
    with TestClient(create_app(console), base_url="http://127.0.0.1:8080") as client:
        client.console = console
        yield client


def login(client: TestClient, account: str = "operator", password: str = OPERATOR_PASSWORD):
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"csrf": token, "account": account, "password": password},
                       follow_redirects=False)


def csrf(client: TestClient, path: str = "/") -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


def form_key(page: str, action: str) -> str:
    form = page[page.index(f'action="{action}"'):]
    return re.search(r'name="key" value="([^"]+)"', form).group(1)


def test_the_console_refuses_to_start_without_an_operator_password(database: Path) -> None:
    with pytest.raises(ConsoleError, match="no operator password"):
        Console(parse(""), database)


def test_pages_need_a_login(client: TestClient) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert client.get("/api/cases").status_code == 401


def test_a_login_sets_a_strict_http_only_cookie_and_is_audited(client: TestClient) -> None:
    response = login(client)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "evy_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict",
                                                                                                     "strict")
    with Store.open(client.console.store.path) as store:
        assert [entry.action for entry in console_store.audit_entries(store)] == ["login"]


def test_wrong_passwords_lock_the_account_even_for_the_right_one(client: TestClient) -> None:
    for _ in range(3):
        assert login(client, password="wrong password").status_code == 401
    locked = login(client)
    assert locked.status_code == 429 and "Too many wrong passwords" in locked.text
    with Store.open(client.console.store.path) as store:
        actions = [entry.action for entry in console_store.audit_entries(store)]
    assert actions == ["login-locked", "login-failed", "login-failed", "login-failed"]


def test_a_login_without_the_form_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"account": "operator", "password": OPERATOR_PASSWORD})
    assert response.status_code == 403


def test_every_sender_text_is_escaped(client: TestClient, database: Path) -> None:
    with Store.open(database) as store:
        number = add_case(store, SENDER, [XSS], time.time(), location_text=XSS, category="fire")
    login(client)
    for path in ("/", "/board/rows", f"/cases/{case_code(number)}", f"/cases/{case_code(number)}/thread"):
        page = client.get(path).text
        assert "<script>alert" not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;" in page, path
    assert "script-src 'self'" in client.get("/").headers["content-security-policy"]


def test_actions_need_the_session_csrf_token(client: TestClient, database: Path) -> None:
    with Store.open(database) as store:
        number = add_case(store, SENDER, ["help"], time.time())
    login(client)
    path = f"/cases/{case_code(number)}/status"
    assert client.post(path, data={"status": "acknowledged"}).status_code == 403
    assert client.post(path, data={"status": "acknowledged", "csrf": "forged"}).status_code == 403
    token = csrf(client)
    cross_site = client.post(path, data={"status": "acknowledged", "csrf": token},
                             headers={"origin": "http://evil.example"})
    assert cross_site.status_code == 403
    assert client.post("/api/cases/" + case_code(number) + "/status", json={"status": "acknowledged"}).status_code \
        == 403
    with Store.open(database) as store:
        assert str(console_store.case_in(store.db, number).status) == "new"


def test_an_observer_sees_but_cannot_act(client: TestClient, database: Path) -> None:
    with Store.open(database) as store:
        number = add_case(store, SENDER, ["help"], time.time())
    login(client, "observer", OBSERVER_PASSWORD)
    page = client.get(f"/cases/{case_code(number)}").text
    assert "help" in page and "Send SMS" not in page
    response = client.post(f"/cases/{case_code(number)}/reply", data={"text": "hi", "csrf": csrf(client)})
    assert response.status_code == 403


def outbox_rows(database: Path) -> list[tuple]:
    with Store.open(database) as store:
        return [tuple(row) for row in store.db.execute("SELECT kind, recipient, text, priority FROM outbox"
                                                       " ORDER BY id").fetchall()]


def test_a_reply_is_queued_once_even_when_the_form_is_sent_twice(client: TestClient, database: Path) -> None:
    with Store.open(database) as store:
        number = add_case(store, SENDER, ["fire near the market"], time.time(), priority=1, emergency=True)
    login(client)
    page = client.get(f"/cases/{case_code(number)}").text
    form = {"csrf": csrf(client), "key": form_key(page, f"/cases/{case_code(number)}/reply"),
            "text": "A team is coming from the clinic."}
    first = client.post(f"/cases/{case_code(number)}/reply", data=form)
    again = client.post(f"/cases/{case_code(number)}/reply", data=form)
    assert "reply queued" in first.text and "already sent" in again.text
    [(kind, recipient, text, priority)] = outbox_rows(database)
    assert kind.startswith("operator:") and recipient == SENDER and priority == 1
    assert text == "A team is coming from the clinic."
    assert "operator reply" in client.get(f"/cases/{case_code(number)}").text


def test_a_sender_who_texted_stop_gets_no_reply_and_no_status_sms(client: TestClient, database: Path) -> None:
    with Store.open(database) as store:
        number = add_case(store, SENDER, ["help"], time.time())
        with store.transaction() as db:
            set_opted_out(db, SENDER, True)
    login(client)
    token = csrf(client)
    refused = client.post(f"/cases/{case_code(number)}/reply", data={"csrf": token, "text": "hello"})
    assert refused.status_code == 400 and "texted STOP" in refused.text
    changed = client.post(f"/cases/{case_code(number)}/status", data={"csrf": token, "status": "dispatched",
                                                                      "notify": "yes"})
    assert "no SMS" in changed.text
    assert outbox_rows(database) == []


def test_a_status_change_tells_the_sender_in_their_language(client: TestClient, database: Path) -> None:
    with Store.open(database) as store:
        english = add_case(store, SENDER, ["help"], time.time())
        swahili = add_case(store, "+254700000002", ["msaada"], time.time(), language="sw")
    login(client)
    token = csrf(client)
    for number in (english, swahili):
        client.post(f"/cases/{case_code(number)}/status", data={"csrf": token, "status": "dispatched",
                                                                 "notify": "yes"})
    texts = [row[2] for row in outbox_rows(database)]
    assert texts == [f"Help is on the way. Case {case_code(english)}.",
                     f"Msaada uko njiani. Kesi {case_code(swahili)}."]
    history = client.get(f"/api/cases/{case_code(english)}").json()["history"]
    assert history[0]["action"] == "status" and "new -> dispatched" in history[0]["detail"]
    refused = client.post(f"/cases/{case_code(english)}/status", data={"csrf": token, "status": "new"})
    assert refused.status_code == 400 and "cannot become new" in refused.text


def test_exports_honour_the_filters(client: TestClient, database: Path) -> None:
    now = time.time()
    with Store.open(database) as store:
        fire = add_case(store, SENDER, ["=HYPERLINK(\"x\")"], now, category="fire", latitude=-1.3, longitude=36.8)
        add_case(store, "+254700000002", ["sick child"], now, category="medical")
    login(client)
    rows = list(csv.reader(io.StringIO(client.get("/export.csv?category=fire").text)))
    assert rows[1][0] == "#meta+id" and [row[0] for row in rows[2:]] == [case_code(fire)]
    assert rows[2][-1].startswith("'=")
    features = client.get("/export.geojson").json()["features"]
    assert [feature["id"] for feature in features] == [case_code(fire)]


def test_the_api_lists_and_shows_cases_with_distance_from_the_kit(client: TestClient, database: Path) -> None:
    with Store.open(database) as store:
        number = add_case(store, SENDER, ["help"], time.time(), latitude=-1.2831, longitude=36.8219)
    login(client)
    assert client.get("/api/cases", params={"limit": "0"}).status_code == 400
    [listed] = client.get("/api/cases", params={"limit": "1"}).json()["cases"]
    assert listed["case"] == case_code(number) and listed["last_message"] == "help"
    assert listed["distance"].startswith("1.0 km N")
    shown = client.get(f"/api/cases/{case_code(number)}").json()
    assert [entry["text"] for entry in shown["thread"]] == ["help"]
    count = client.get("/api/segments", params={"text": "é" * 160}).json()
    assert (count["encoding"], count["segments"], count["characters"], count["limit"]) == ("gsm7", 1, 160, 3)
    count = client.get("/api/segments", params={"text": "ধ" * 71}).json()
    assert (count["encoding"], count["segments"]) == ("ucs2", 2)


def test_pages_stay_under_100_kb_with_a_full_board(client: TestClient, database: Path) -> None:
    now = time.time()
    with Store.open(database) as store:
        for index in range(600):
            add_case(store, f"+2547000{index:05d}", ["x" * 160], now - index, category="medical",
                     location_text="near the big market behind the school")
    login(client)
    board = client.get("/").text
    assert "Only the 150 most urgent are shown" in board
    for path in ("/", "/map", "/audit", "/static/console.css", "/static/console.js", "/login"):
        assert len(client.get(path).content) < 100_000, path


def test_notes_and_a_merge_through_the_forms(client: TestClient, database: Path) -> None:
    now = time.time()
    with Store.open(database) as store:
        first = add_case(store, SENDER, ["smoke from the school roof"], now, category="fire")
        second = add_case(store, "+254700000002", ["the school is burning"], now + 5, category="fire",
                          latitude=-1.29, longitude=36.82)
    login(client)
    token = csrf(client)
    client.post(f"/cases/{case_code(first)}/notes", data={"csrf": token, "text": "same fire as the school call"})
    merged = client.post(f"/cases/{case_code(first)}/merge", data={"csrf": token, "into": case_code(second).lower()})
    assert merged.url.path == f"/cases/{case_code(second)}"
    page = merged.text
    assert "smoke from the school roof" in page and "the school is burning" in page
    assert "same fire as the school call" in page and f"{case_code(first)} merged into {case_code(second)}" in page
    assert "Merged into" in client.get(f"/cases/{case_code(first)}").text
    again = client.post(f"/cases/{case_code(first)}/merge", data={"csrf": token, "into": case_code(second)})
    assert again.status_code == 400 and "closed" in again.text


def test_the_console_follows_a_database_the_agent_replaced(client: TestClient, database: Path) -> None:
    with Store.open(database) as store:
        add_case(store, SENDER, ["before the damage"], time.time())
    login(client)
    assert "before the damage" in client.get("/").text
    for suffix in ("", "-wal", "-shm"):  # what salvage does: the damaged file moved aside, a fresh one started
        moved = database.with_name(database.name + suffix)
        if moved.exists():
            moved.rename(database.with_name(f"evy.db.damaged{suffix}"))
    with Store.open(database) as store:
        add_case(store, SENDER, ["after the salvage"], time.time())
    board = client.get("/").text
    assert "after the salvage" in board and "before the damage" not in board


def test_an_unreadable_database_is_a_one_line_503_and_the_console_stays_up(client: TestClient,
                                                                           database: Path) -> None:
    login(client)
    damaged = database.with_name("replacement")
    damaged.write_bytes(b"this is not an SQLite database" * 200)
    damaged.rename(database)  # what a failing card could leave: another file under the database's name
    page = client.get("/")
    assert page.status_code == 503 and "database cannot be read now" in page.text
    assert client.get("/api/cases").json()["error"].startswith("the kit's database cannot be read now")
    assert client.get("/static/console.css").status_code == 200


def test_a_flood_of_logins_checks_two_passwords_at_a_time(database: Path, password_hashes, monkeypatch) -> None:
    """argon2id takes 64 MiB per check: at most two run together, whatever arrives at once."""
    import asyncio
    import threading

    import httpx

    from evy.console import auth

    running, peak, lock = [0], [0], threading.Lock()
    real = auth.verify_password

    def counted(password_hash, password):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            return real(password_hash, password)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(auth, "verify_password", counted)
    app = create_app(Console(console_config(password_hashes, console__login_attempts=100), database))

    async def flood() -> list[int]:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
            page = await client.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            answers = await asyncio.gather(*(client.post("/login", data={"csrf": token, "account": "operator",
                                                                         "password": f"guess {n}"})
                                             for n in range(8)))
        return [answer.status_code for answer in answers]

    assert asyncio.run(flood()) == [401] * 8
    assert peak[0] == 2
