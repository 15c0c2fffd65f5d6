"""The console in a real headless Chromium (Debian's, through chromedriver), served by a real `evy console`
process on loopback, beside a kit whose agent answers SMS from the pty modem simulator.

The operator logs in, sees a case appear after the phone texts, replies and dispatches help (the phone gets
both SMS), exports, and logs out; wrong passwords lock the account; a forged cross-site form and a sender's
script change nothing. Screenshots of the main pages go to docs/console/ (`EVY_SCREENSHOTS=1`).
"""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evy.pipeline.kit import SimulatedKit, join_replies

from .conftest import OPERATOR_PASSWORD

pytestmark = pytest.mark.skipif(shutil.which("chromium") is None or shutil.which("chromedriver") is None,
                                reason="needs Debian's chromium and chromium-driver (invoke setup)")

ROOT = Path(__file__).parents[2]
PHONE = "+254711000111"
KIT_POSITION = "-1.2921, 36.8219"
SCREENSHOTS = ROOT / "docs" / "console"
FIRE = "Fire! our house is burning at -1.2850, 36.8300, 4 people inside"
XSS = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script> help'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout} s")


@pytest.fixture(scope="module")
def kit() -> Iterator[SimulatedKit]:
    with SimulatedKit('country = "KE"\n[llm]\nenabled = false\n[rag]\nembed_model = ""\n', responder="basic",
                      cases__kit_position=KIT_POSITION) as kit:
        yield kit


@pytest.fixture(scope="module")
def console_url(kit: SimulatedKit, password_hashes, tmp_path_factory) -> Iterator[str]:
    operator, observer = password_hashes
    port = free_port()
    config = tmp_path_factory.mktemp("console") / "evy.toml"
    config.write_text(f'data_dir = "{kit.data_dir}"\ncountry = "KE"\n[cases]\nkit_position = "{KIT_POSITION}"\n'
                      f'[console]\nlisten = ["127.0.0.1"]\nport = {port}\nrefresh_seconds = 2\nlogin_attempts = 3\n'
                      f'operator_password_hash = "{operator}"\nobserver_password_hash = "{observer}"\n')
    with running_console(config, port) as url:
        yield url


@contextlib.contextmanager
def running_console(config: Path, port: int) -> Iterator[str]:
    """`evy console --config CONFIG` as a process of its own, once it answers on 127.0.0.1:PORT; its URL."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "agent")}
    process = subprocess.Popen([sys.executable, "-m", "evy", "console", "--config", str(config)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def answers() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            assert process.poll() is None, process.stdout.read()
            return False

    try:
        wait_for(answers, 20, "the console answers")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def browser(chromium):
    return chromium(1280, 1500)


def screenshot(browser, name: str) -> None:
    if os.environ.get("EVY_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def log_in(browser, url: str, password: str = OPERATOR_PASSWORD, account: str = "operator") -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{url}/login")
    browser.find_element(By.NAME, "account").clear()
    browser.find_element(By.NAME, "account").send_keys(account)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form.login button").click()


def text(browser) -> str:
    """The page's text; empty while the browser is between two pages."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    try:
        return browser.find_element(By.TAG_NAME, "body").text
    except WebDriverException:
        return ""


def phone_got(kit: SimulatedKit, fragment: str) -> bool:
    return any(fragment in reply.text and reply.complete for reply in join_replies(list(kit.sim.sent)))


def test_an_operator_sees_a_case_arrive_replies_dispatches_exports_and_logs_out(kit, console_url, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    log_in(browser, console_url)
    wait_for(lambda: "Cases" in browser.title, 10, "the board after logging in")
    kit.sim.deliver(PHONE, FIRE, timestamp=datetime.now(UTC).replace(microsecond=0))
    row = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#board-rows tr.p0, #board-rows tr.p1"), 20,
                   "the case appears on the board by itself")
    assert "fire" in row[0].text and "4" in row[0].text and "km" in row[0].text
    kit.sim.deliver("+254711000222", "my child has a high fever, which clinic is open?",
                    timestamp=datetime.now(UTC).replace(microsecond=0))
    wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, "#board-rows tr")) >= 2, 20, "a second case")
    screenshot(browser, "board")

    browser.find_element(By.CSS_SELECTOR, "#board-rows tr.p0 a, #board-rows tr.p1 a").click()
    code = browser.find_element(By.TAG_NAME, "h1").text.split()[1]
    assert "Fire!" in text(browser) and "automatic reply" in text(browser)
    area = browser.find_element(By.CSS_SELECTOR, "form.reply textarea")
    area.send_keys("A fire team is leaving the station now. Get everyone out and stay out.")
    wait_for(lambda: "1 SMS" in browser.find_element(By.ID, "reply-count").text, 5, "the live SMS counter")
    area.send_keys(" Keep away from the smoke, stay low; we will text again when they are close by." * 2)
    wait_for(lambda: "2 SMS" in browser.find_element(By.ID, "reply-count").text, 5, "the counter at 2 SMS")
    screenshot(browser, "case")
    browser.find_element(By.CSS_SELECTOR, "form.reply button").click()
    wait_for(lambda: "reply queued" in text(browser), 10, "the reply confirmed")
    wait_for(lambda: phone_got(kit, "A fire team is leaving the station now."), 20, "the phone gets the reply")

    Select(browser.find_element(By.CSS_SELECTOR, "form.status-form select")).select_by_value("dispatched")
    browser.find_element(By.CSS_SELECTOR, "form.status-form button").click()
    wait_for(lambda: "is now dispatched" in text(browser), 10, "the status change confirmed")
    wait_for(lambda: phone_got(kit, f"Help is on the way. Case {code}."), 20, "the phone gets the status SMS")
    wait_for(lambda: "status SMS · sent" in text(browser), 10, "the status SMS sent, in the thread")
    screenshot(browser, "case-dispatched")
    browser.refresh()  # resubmitting nothing: the page was reached by a redirect (POST → 303 → GET)
    time.sleep(1)
    assert len([r for r in join_replies(list(kit.sim.sent)) if "Help is on the way" in r.text]) == 1

    browser.get(f"{console_url}/map")
    assert browser.find_elements(By.CSS_SELECTOR, "svg.map circle.case")
    screenshot(browser, "map")
    browser.get(f"{console_url}/")
    exported = browser.execute_script(
        "return fetch('/export.csv?status=dispatched', {credentials: 'same-origin'}).then(r => r.text())")
    lines = exported.splitlines()
    assert lines[1].startswith("#meta+id") and lines[2].startswith(f"{code},dispatched,fire")
    assert len(lines) == 3

    browser.get(f"{console_url}/audit")
    assert {"login", "reply", "status", "export"} <= {cell.text for cell in
                                                       browser.find_elements(By.CSS_SELECTOR, "table.audit td")}
    screenshot(browser, "audit")
    browser.find_element(By.CSS_SELECTOR, "form.logout button").click()
    wait_for(lambda: browser.current_url.endswith("/login"), 10, "back at the login page")
    browser.get(f"{console_url}/")
    assert browser.current_url.endswith("/login")


def test_a_sender_script_is_shown_as_text_and_never_runs(kit, console_url, browser):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    log_in(browser, console_url)
    kit.sim.deliver("+254711000333", XSS, timestamp=datetime.now(UTC).replace(microsecond=0))

    def the_message_and_its_case() -> tuple[str, str] | None:
        try:  # the board's rows are replaced every refresh_seconds: read a row at once, or look again
            for cell in browser.find_elements(By.CSS_SELECTOR, "#board-rows td.text"):
                if "onerror" in cell.text:
                    link = cell.find_element(By.XPATH, "..").find_element(By.TAG_NAME, "a")
                    return cell.text, link.get_attribute("href")
        except StaleElementReferenceException:
            return None
        return None

    shown, case_page = wait_for(the_message_and_its_case, 20, "the message on the board")
    assert "<script>" in shown
    browser.get(case_page)
    assert "<img src=x" in text(browser)
    assert browser.title != "pwned" and not browser.find_elements(By.CSS_SELECTOR, ".thread img")
    browser.delete_all_cookies()


def test_a_forged_form_from_another_site_changes_nothing(kit, console_url, browser, tmp_path):
    from selenium.webdriver.common.by import By

    from evy.cases.code import case_id
    from evy.store import Store

    log_in(browser, console_url)
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#board-rows tr a"), 10, "a case on the board")
    code = browser.find_element(By.CSS_SELECTOR, "#board-rows tr a").text
    (tmp_path / "attack.html").write_text(
        f'<form id=f method=post action="{console_url}/cases/{code}/status">'
        '<input name=status value=closed><input name=csrf value=guess></form>'
        '<script>document.getElementById("f").submit()</script>')
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.2", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        browser.get(f"http://127.0.0.2:{server.server_address[1]}/attack.html")
        wait_for(lambda: "attack" not in browser.current_url, 10, "the forged form submitted")
        time.sleep(0.5)
    finally:
        server.shutdown()
    with Store.open(kit.data_dir / "evy.db") as store:
        status = store.db.execute("SELECT status FROM cases WHERE id = ?", (case_id(code),)).fetchone()[0]
    assert status != "closed"
    browser.delete_all_cookies()


def test_a_phone_joins_and_receives_a_broadcast(kit, console_url, browser):
    """(With the broadcast module.) JOIN by SMS, then a broadcast to subscribers from the console, cost first."""
    from selenium.webdriver.common.by import By

    pytest.importorskip("evy.broadcast.send")
    log_in(browser, console_url)
    wait_for(lambda: "Cases" in browser.title, 10, "logged in")
    kit.sim.deliver("+254711000444", "JOIN", timestamp=datetime.now(UTC).replace(microsecond=0))
    wait_for(lambda: any(r.recipient == "+254711000444" and r.complete for r in join_replies(list(kit.sim.sent))),
             20, "the JOIN confirmation")
    browser.get(f"{console_url}/kit")
    screenshot(browser, "kit")
    browser.get(f"{console_url}/broadcasts")
    browser.find_element(By.CSS_SELECTOR, "form.broadcast textarea").send_keys(
        "Water truck at the market today from 9 to 12. Bring clean containers.")
    browser.find_element(By.CSS_SELECTOR, "form.broadcast input[value=subscribers]").click()
    browser.find_element(By.CSS_SELECTOR, "form.broadcast button").click()
    wait_for(lambda: "Send this broadcast?" in text(browser), 10, "the cost before sending")
    assert "1 people × 1 SMS" in text(browser)
    screenshot(browser, "broadcast-cost")
    browser.find_element(By.XPATH, "//button[starts-with(text(), 'Send 1 SMS')]").click()
    wait_for(lambda: "queued: 1 SMS to 1 people" in text(browser), 10, "the broadcast queued")
    wait_for(lambda: phone_got(kit, "Water truck at the market today"), 60, "the subscriber's phone gets it")
    browser.refresh()
    wait_for(lambda: "1 sent" in text(browser) or "1 delivered" in text(browser), 20, "its delivery")
    browser.delete_all_cookies()


def test_wrong_passwords_lock_the_login(kit, console_url, browser):
    for _ in range(3):
        log_in(browser, console_url, password="not the password", account="observer")
        wait_for(lambda: "Wrong account or password" in text(browser), 10, "the refusal")
    log_in(browser, console_url, password="observer password 1", account="observer")
    wait_for(lambda: "Too many wrong passwords" in text(browser), 10, "the lockout")
    screenshot(browser, "login-locked")
