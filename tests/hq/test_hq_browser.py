"""The console in fleet mode in a real headless Chromium (Debian's, through chromedriver), served by a real
`evy hq console` process beside a real `evy hq run` that stores what two kits publish through a real
Mosquitto (TLS, a login per client). The operator logs in, sees both kits' cases on the board and the map,
filters by kit, sees a stale kit flagged, makes a group and sends it a broadcast, which reaches each of the
group's kits at the broker. Screenshots go to docs/console/ (`EVY_SCREENSHOTS=1`)."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evy.fleet.broker import LocalBroker, free_port, mosquitto_binary
from evy.fleet.events import Event
from evy.hq.db import HqDatabase

from .conftest import OPERATOR_PASSWORD, cell_config_text, fleet_events
from .test_hq_outbox import Listener, publish_as, wait_for

pytestmark = pytest.mark.skipif(shutil.which("chromium") is None or shutil.which("chromedriver") is None,
                                reason="needs Debian's chromium and chromium-driver (invoke setup)")

ROOT = Path(__file__).parents[2]
SCREENSHOTS = ROOT / "docs" / "console"
LOGINS = {"evy-hq": "pw-hq", "kit-a": "pw-a", "kit-b": "pw-b"}


def evy(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "evy", *args], env={**os.environ, "PYTHONPATH": str(ROOT / "agent")},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, fleet_password_hashes, signing_key):
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (invoke setup)")
    directory = tmp_path_factory.mktemp("cell")
    broker = LocalBroker(directory / "broker", logins=LOGINS)
    broker.start()
    now = time.time()
    seeded = fleet_events(now)
    with HqDatabase(directory / "hq.sqlite") as database:  # kit-c last heard two days ago: stale
        for event, received_at in seeded:
            if event.kit == "kit-c":
                database.ingest(event, received_at)
    processes = []
    try:
        cell_config = directory / "hq.toml"
        cell_config.write_text(cell_config_text(broker, directory, 'listen = ""\n'))
        cell = evy("hq", "run", "--config", str(cell_config))
        processes.append(cell)
        while "cell subscribed" not in (line := cell.stdout.readline()):
            assert line, "evy hq run exited before subscribing"
        port = free_port()
        operator, observer = fleet_password_hashes
        console_config = directory / "console.toml"
        console_config.write_text(cell_config_text(
            broker, directory, f'listen = "127.0.0.1:{port}"\n[console]\nrefresh_seconds = 2\n'
                               f'operator_password_hash = "{operator}"\nobserver_password_hash = "{observer}"\n',
            signing_key=signing_key))
        console = evy("hq", "console", "--config", str(console_config))
        processes.append(console)

        def answers() -> bool:
            assert console.poll() is None, console.stdout.read()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return True
            except OSError:
                return False

        wait_for(answers, 20, "the fleet console answers")
        for kit in ("kit-a", "kit-b"):
            publish_as(broker, kit, [event for event, _ in seeded if event.kit == kit])

        def stored() -> bool:
            with HqDatabase(directory / "hq.sqlite") as database:
                return database.counts()["events"] == len(seeded)

        wait_for(stored, 20, "the cell stores both kits' events")
        yield f"http://127.0.0.1:{port}", broker
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
        broker.stop()


@pytest.fixture(scope="module")
def browser(chromium):
    return chromium(1400, 1300)


def screenshot(browser, name: str) -> None:
    if os.environ.get("EVY_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def page_text(browser) -> str:
    """The page's text; "" while the page is being replaced (a submit or a refresh under way)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        return browser.find_element(By.TAG_NAME, "body").text
    except StaleElementReferenceException:
        return ""


def kits_on_board(browser) -> list[str]:
    from selenium.webdriver.common.by import By

    return [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#board-rows td.kit")]


def test_an_operator_sees_the_fleet_filters_by_kit_sees_a_stale_kit_and_broadcasts_to_a_group(fleet, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    url, broker = fleet
    listener = Listener(broker)
    try:
        browser.get(f"{url}/login")
        browser.find_element(By.NAME, "password").send_keys(OPERATOR_PASSWORD)
        browser.find_element(By.CSS_SELECTOR, "form.login button").click()
        wait_for(lambda: "Fleet cases" in browser.title, 10, "the fleet board after logging in")
        assert sorted(set(kits_on_board(browser))) == ["kit-a", "kit-b", "kit-c"]
        banner = browser.find_element(By.ID, "stale-kits").text
        assert "1 stale kit" in banner and "kit-c" in banner and "kit-a" not in banner
        assert "also on 1 other kit" in browser.find_element(By.ID, "board-rows").text
        screenshot(browser, "fleet-board")

        Select(browser.find_element(By.ID, "kit-filter")).select_by_visible_text("kit-b")
        browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
        wait_for(lambda: "kit=kit-b" in browser.current_url, 10, "the filtered board")
        assert kits_on_board(browser) == ["kit-b", "kit-b"]

        browser.get(f"{url}/map")
        plotted = {point.get_attribute("data-kit") for point in browser.find_elements(By.CSS_SELECTOR, "a.case-point")}
        assert plotted == {"kit-a", "kit-b"}
        screenshot(browser, "fleet-map")

        browser.get(f"{url}/kits")
        stale_row = browser.find_element(By.ID, "kit-kit-c")
        assert "STALE" in stale_row.text and "stale" in stale_row.get_attribute("class")
        assert "battery under 20%" in browser.find_element(By.ID, "kit-kit-b").text
        screenshot(browser, "fleet-kits")

        browser.get(f"{url}/groups")
        browser.find_element(By.NAME, "name").send_keys("north")
        for kit in ("kit-a", "kit-b"):
            browser.find_element(By.CSS_SELECTOR, f"input[name=kit][value={kit}]").click()
        browser.find_element(By.CSS_SELECTOR, "form.group-form button").click()
        wait_for(lambda: "2 kit(s) added" in page_text(browser), 10, "the group made")

        browser.get(f"{url}/send")
        form = browser.find_element(By.CSS_SELECTOR, "form.send.broadcast")
        Select(form.find_element(By.NAME, "target")).select_by_value("group:north")
        Select(form.find_element(By.NAME, "audience")).select_by_value("subscribers")
        form.find_element(By.NAME, "text").send_keys("Water trucks at the school from 14:00 today.")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait_for(lambda: "sent to group:north: 2 message(s)" in page_text(browser), 10, "the broadcast confirmed")
        wait_for(lambda: len(listener.received) >= 2, 15, "the broadcast at the broker for both kits")
        assert sorted(topic for topic, _ in listener.received) == ["evy/v1/kit-a/down/broadcast",
                                                                    "evy/v1/kit-b/down/broadcast"]
        assert {body["payload"]["text"] for _, body in listener.received} == {
            "Water trucks at the school from 14:00 today."}
        assert {body["target"] for _, body in listener.received} == {"kit:kit-a", "kit:kit-b"}

        def published() -> bool:
            browser.refresh()
            return browser.find_elements(By.CSS_SELECTOR, "table.sent .published") and \
                not browser.find_elements(By.CSS_SELECTOR, "table.sent .waiting")

        wait_for(published, 15, "both messages shown published")
        for seq, (kit, result, reason) in enumerate((("kit-a", "applied", "broadcast queued for 2 subscribers"),
                                                     ("kit-b", "refused", "bad signature (claims signer x)")), 90):
            topic = f"evy/v1/{kit}/down/broadcast"
            publish_as(broker, kit, [Event(kit, seq, "downlink", f"downlink.{result}", time.time(), 4, {
                "topic": topic, "signer": None, "seq": None, "kind": "broadcast", "target": f"kit:{kit}",
                "reason": reason, "digest": hashlib.sha256(listener.raw[topic]).hexdigest()})])

        def reported() -> dict[str, str] | None:
            """Each kit's outcome as shown, once neither is waiting any more."""
            from selenium.common.exceptions import StaleElementReferenceException

            browser.refresh()
            try:
                shown = {item.get_attribute("data-kit"): item.text
                         for item in browser.find_elements(By.CSS_SELECTOR, "table.sent li.outcome")}
            except StaleElementReferenceException:
                return None
            return shown if shown and "waiting" not in " ".join(shown.values()) else None

        shown = wait_for(reported, 15, "both kits' outcomes on the Send page")  # each with the time reported
        assert sorted(shown) == ["kit-a", "kit-b"]
        assert shown["kit-a"].startswith("kit-a: applied (broadcast queued for 2 subscribers) 20")
        assert shown["kit-b"].startswith("kit-b: refused: bad signature (claims signer x) 20")
        screenshot(browser, "fleet-send")
    finally:
        listener.stop()
