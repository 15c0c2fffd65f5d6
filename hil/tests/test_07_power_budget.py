"""Optional: idle and busy watts through a sigrok-supported power supply, against the field budget."""

import statistics
import time

import pytest

pytestmark = pytest.mark.hil


def _watts(supply, seconds: float) -> float:
    samples = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        reading = supply.measure()
        samples.append(reading["voltage"] * reading["current"])
        time.sleep(1.0)
    return statistics.median(samples)


def test_idle_and_busy_power(target, kit, phone, options, figures):
    from labgrid.exceptions import NoDriverFoundError

    try:
        supply = target.get_driver("SigrokPowerDriver")
    except NoDriverFoundError:
        pytest.skip("no sigrok-supported power supply on this rig (SigrokPowerDriver)")
    idle = _watts(supply, 60)
    phone.send(options.kit_number, "HELP car crash on the main road, two people injured")
    busy = _watts(supply, 30)
    figures["power_idle_w"], figures["power_busy_w"] = round(idle, 2), round(busy, 2)
    assert idle < options.idle_budget_watts, f"idle {idle:.1f} W exceeds the {options.idle_budget_watts} W budget"
