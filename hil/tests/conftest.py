"""Shared by the HIL suite and the harness's unit tests.

The suite's fixtures only come alive with labgrid's ``--lg-env`` (``invoke hil`` passes it); without one,
labgrid's ``env`` fixture skips, so the suite never runs by accident in the unit-test job.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

HIL = Path(__file__).resolve().parents[1]
if str(HIL) not in sys.path:
    sys.path.insert(0, str(HIL))


def hil_out() -> Path:
    return Path(os.environ.get("EVY_HIL_OUT", "out/hil"))


@pytest.fixture(scope="session")
def figures():
    """Measured figures (boot time, SMS round trip, power cuts survived) for out/hil/figures.json."""
    data: dict[str, object] = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    yield data
    out = hil_out()
    out.mkdir(parents=True, exist_ok=True)
    (out / "figures.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


@pytest.fixture(scope="session")
def options(env):
    from evyhil.kit import KitOptions

    return KitOptions.from_env(env)


@pytest.fixture(scope="session")
def seed(env):
    from evyhil.seed import KitSeed

    return KitSeed.from_toml(Path(env.config.get_image_path("seed")).read_text())


@pytest.fixture(scope="session")
def kit(strategy, options, figures):
    """The kit, flashed with this run's image and seed, booted to a shell (once per session)."""
    from evyhil.kit import Kit

    kit = Kit(strategy, options)
    kit.boot()
    figures["first_boot_to_shell_s"] = round(strategy.shell_ready_at - strategy.powered_on_at, 1)
    return kit


@pytest.fixture(scope="session")
def phone(target, kit):
    from evyhil.protocol import PhoneProtocol

    return target.get_driver(PhoneProtocol)


def pytest_collection_modifyitems(config, items):
    """Without an env file the suite cannot run: deselect it (the unit tests still run)."""
    if config.getoption("lg_env", None) or os.environ.get("LG_ENV"):
        return
    suite = [item for item in items if item.get_closest_marker("hil")]
    if suite:
        config.hook.pytest_deselected(items=suite)
        items[:] = [item for item in items if not item.get_closest_marker("hil")]
