"""Boot: the system comes up clean, the agent runs and is healthy, and how long that takes."""

import pytest

pytestmark = pytest.mark.hil


def test_system_is_running(kit):
    state = kit.strategy.system_state
    assert state == "running", f"systemctl is-system-running: {state}\n{kit.diagnostics()}"


def test_agent_service_is_active_and_healthy(kit, options):
    active = kit.run_status(f"systemctl is-active {options.agent_unit}")[1].strip()
    assert active == "active", kit.diagnostics()
    status = kit.agent_serving(timeout=options.serving_timeout)
    assert status["modem"]["state"] == "ready", f"agent status: {status}"
    assert status["outbox"]["failed"] == 0, f"agent status: {status}"


def test_boot_time_to_agent_ready(kit, options, figures):
    seconds = kit.agent_ready_after_power_on()
    assert seconds is not None, f"{options.agent_unit} never became active\n{kit.diagnostics()}"
    figures["boot_to_agent_ready_s"] = round(seconds, 1)
    budget = options.boot_budget
    assert seconds <= budget, f"agent ready {seconds:.0f} s after power-on (budget {budget:.0f} s)"
