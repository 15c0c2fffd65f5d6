"""Settings and fixtures for every test tree (tests/ and hil/tests/unit)."""

import shutil
from collections.abc import Callable, Iterator

import pytest
from hypothesis import settings

# Timing belongs in `invoke bench`, not in tests: on a loaded machine the first example of a property test
# may take longer than hypothesis's default deadline, which would fail a test that found nothing wrong.
settings.register_profile("evy", deadline=None)
settings.load_profile("evy")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Callable[..., object]]:
    """Start Debian's headless Chromium through chromedriver (selenium): ``chromium(width, height)``; each
    one started is quit when the module's tests are done."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    drivers = []

    def start(width: int = 1280, height: int = 1500) -> object:
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium")
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}",
                     "--disable-gpu", "--no-first-run"):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
        driver.implicitly_wait(0)
        drivers.append(driver)
        return driver

    yield start
    for driver in drivers:
        driver.quit()

