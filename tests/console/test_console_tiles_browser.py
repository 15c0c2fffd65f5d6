"""The map's tiles in a real headless Chromium (Debian's, through chromedriver), served by a real `evy console`
process on loopback from an MBTiles file on its data directory: the page's tiles are fetched, decoded and
painted under the plot where the server placed them."""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from evy.store import Store

from . import test_console_browser as chromium
from .conftest import SENDER, add_case
from .test_console_browser import free_port, log_in, running_console, wait_for
from .tilemaker import around, colour, make_mbtiles

pytestmark = pytest.mark.skipif(shutil.which("chromium") is None or shutil.which("chromedriver") is None,
                                reason="needs Debian's chromium and chromium-driver (invoke setup)")

ROOT = Path(__file__).parents[2]
browser = chromium.browser  # the same headless Chromium fixture
KIT = (-1.2921, 36.8219)


@pytest.fixture(scope="module")
def console_url(password_hashes, tmp_path_factory) -> Iterator[str]:
    operator, _ = password_hashes
    data_dir = tmp_path_factory.mktemp("kit")
    with Store.open(data_dir / "evy.db") as store:
        add_case(store, SENDER, ["fire near the market"], 1000.0, latitude=-1.2850, longitude=36.8300, priority=0,
                 category="fire")
        add_case(store, "+254700000002", ["flooded road"], 1001.0, latitude=-1.2990, longitude=36.8150,
                 priority=2, category="flood")
    make_mbtiles(data_dir / "map.mbtiles", [tile for zoom in (14, 15, 16) for tile in around(*KIT, zoom, 3)])
    port = free_port()
    config = data_dir / "evy.toml"
    config.write_text(f'data_dir = "{data_dir}"\ncountry = "KE"\n[cases]\nkit_position = "{KIT[0]}, {KIT[1]}"\n'
                      f'[console]\nlisten = ["127.0.0.1"]\nport = {port}\noperator_password_hash = "{operator}"\n')
    with running_console(config, port) as url:
        yield url


# Paints the map's screenshot on a canvas (on a page without the console's CSP, which refuses data: images) and
# returns the colour at each asked point.
READ_PIXELS = """
const [data, points, done] = arguments;
const image = new Image();
image.onload = () => {
  const canvas = document.createElement('canvas');
  canvas.width = image.width; canvas.height = image.height;
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  done(points.map(([x, y]) => Array.from(context.getImageData(x, y, 1, 1).data.slice(0, 3))));
};
image.onerror = () => done('the screenshot did not decode');
image.src = 'data:image/png;base64,' + data;
"""


def clear_of_the_plot(x: float, y: float) -> bool:
    """A point in the 600 px plot where nothing but tiles is drawn: a corner, outside the outer ring, away from
    the north mark and the scale bar."""
    return (math.hypot(x - 300, y - 300) > 290 and 3 < x < 597 and 3 < y < 597 and not (abs(x - 300) < 20 and y < 20)
            and not (x < 220 and y > 555))


def test_the_map_shows_the_tiles_under_the_cases(console_url, browser) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, console_url)
    wait_for(lambda: "Cases" in browser.title, 10, "the board after logging in")
    browser.get(f"{console_url}/map")
    images = browser.find_elements(By.CSS_SELECTOR, "svg.map image.tile")
    assert len(images) >= 4 and browser.find_elements(By.CSS_SELECTOR, "svg.map circle.case")
    fetched = wait_for(lambda: (lambda found: found if len(found) >= len(images) else None)(browser.execute_script(
        "return performance.getEntriesByType('resource').filter(e => e.name.includes('/tiles/'))"
        ".map(e => [e.name, e.responseStatus])")), 10, "the browser fetches every tile")
    assert len(fetched) == len(images) and all(status == 200 for _, status in fetched)

    svg = browser.find_element(By.CSS_SELECTOR, "svg.map")
    side = svg.size["width"]
    placed = []  # (tile colour, a screenshot point inside that tile, clear of the plot's drawing)
    for image in images:
        zoom, column, row = map(int, re.search(r"/tiles/(\d+)/(\d+)/(\d+)\.png", image.get_attribute("href")).groups())
        x, y, size = (float(image.get_attribute(name)) for name in ("x", "y", "width"))
        for fraction in (0.1, 0.5, 0.9):
            for point_x, point_y in ((x + size * fraction, y + size * 0.1), (x + size * fraction, y + size * 0.9)):
                if clear_of_the_plot(point_x, point_y):
                    placed.append((colour(zoom, column, row), (int(point_x * side / 600), int(point_y * side / 600))))
    assert placed, "no tile reaches the map's corners"
    shot = svg.screenshot_as_base64
    browser.get("about:blank")
    seen = browser.execute_async_script(READ_PIXELS, shot, [point for _, point in placed])
    assert isinstance(seen, list), seen
    for (expected, point), got in zip(placed, seen, strict=True):
        assert all(abs(a - b) <= 3 for a, b in zip(expected, got, strict=True)), (point, expected, got)
