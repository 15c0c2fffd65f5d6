"""FlashStrategy's transitions and failure handling against labgrid's fake console and power drivers."""

from __future__ import annotations

import pytest
from evyhil.strategy import FlashStrategy, FlashStrategyError, Status
from hil_fakes import BootingConsoleDriver, FakeCardDriver, RecordingPowerDriver, ScriptedShellDriver
from labgrid import Environment, Target
from labgrid.strategy.common import StrategyError

FLASH = ["power.off", "card.to_host", "card.write_image"]


@pytest.fixture
def env(tmp_path):
    image = tmp_path / "evy-field.img"
    image.write_bytes(b"\0" * 1024)
    seed = tmp_path / "seed.toml"
    seed.write_text('hostname = "kit-7"\n')
    config = tmp_path / "env.yaml"
    config.write_text(f"targets: {{main: {{}}}}\nimages: {{image: {image}, seed: {seed}}}\n")
    return Environment(str(config))


def make_target(env, *, fail_on="", shell_fails=False, state="running", cmdline_append=""):
    target = Target("main", env=env)
    log: list[str] = []
    power = RecordingPowerDriver(target, "power", log=log)
    BootingConsoleDriver(target, "console", log=log, system_state=state)
    shell = ScriptedShellDriver(target, "shell", log=log, fail=shell_fails)
    card = FakeCardDriver(target, "card", log=log, fail_on=fail_on)
    strategy = FlashStrategy(target, "strategy", seed="seed", cmdline_append=cmdline_append)
    return strategy, log, power, shell, card


def test_shell_from_unknown_flashes_seeds_and_boots(env):
    strategy, log, *_ = make_target(env)
    strategy.transition("shell")
    assert strategy.status is Status.shell
    assert [entry for entry in log if not entry.startswith("image ")] == [
        *FLASH, "boot.write evy-seed.toml", "card.to_board", "power.on", "shell.login",
        "console: dmesg -n 1; echo EVY''-STATE=$(systemctl is-system-running --wait)",
    ]
    assert strategy.system_state == "running"
    assert strategy.shell_ready_at >= strategy.powered_on_at


def test_second_boot_power_cycles_without_reflashing(env):
    strategy, log, *_ = make_target(env)
    strategy.transition("shell")
    log.clear()
    strategy.transition("off")
    strategy.transition("shell")
    assert "card.write_image" not in log
    assert log[:2] == ["power.off", "power.on"]


def test_written_reflashes_on_demand(env):
    strategy, log, *_ = make_target(env)
    strategy.transition("shell")
    log.clear()
    strategy.transition("written")
    assert log[:3] == FLASH
    assert strategy.status is Status.written


def test_cmdline_append_extends_the_cards_cmdline(env):
    strategy, _, _, _, card = make_target(env, cmdline_append="systemd.log_level=debug  quiet")
    strategy.transition("card_board")
    assert card.files["cmdline.txt"] == (
        b"console=serial0,115200 root=LABEL=EVYROOT overlayroot=tmpfs systemd.log_level=debug quiet\n")


def test_degraded_system_reaches_shell_and_reports_the_state(env):
    strategy, *_ = make_target(env, state="degraded")
    strategy.transition("shell")
    assert strategy.system_state == "degraded"


@pytest.mark.parametrize(("fail_on", "failed_at"), [
    ("to_host", Status.card_host), ("write_image", Status.written), ("to_board", Status.card_board),
])
def test_card_failure_breaks_the_strategy_and_names_the_step(env, fail_on, failed_at):
    strategy, log, *_ = make_target(env, fail_on=fail_on)
    with pytest.raises(FlashStrategyError) as first:
        strategy.transition("shell")
    assert first.value.failed_at is failed_at
    assert f"to {failed_at.name}:" in str(first.value)
    assert "medium not present" in str(first.value)
    assert "power.on" not in log
    # Broken for good: any later request, even "off", raises the same error without touching the rig.
    before = list(log)
    with pytest.raises(FlashStrategyError) as again:
        strategy.transition("off")
    assert again.value is first.value
    assert log == before


def test_login_failure_is_reported_at_shell(env):
    strategy, log, *_ = make_target(env, shell_fails=True)
    with pytest.raises(FlashStrategyError) as failure:
        strategy.transition("shell")
    assert failure.value.failed_at is Status.shell
    assert "waiting for login" in str(failure.value)
    assert "power.on" in log
    assert isinstance(failure.value.__cause__, TimeoutError)


def test_failure_is_a_strategy_error_and_a_hil_error(env):
    from evyhil.errors import HilError

    strategy, *_ = make_target(env, fail_on="write_image")
    with pytest.raises(StrategyError):
        strategy.transition("written")
    assert isinstance(strategy.broken, HilError)


def test_unknown_is_not_a_destination(env):
    strategy, *_ = make_target(env)
    with pytest.raises(StrategyError, match="can not transition to unknown"):
        strategy.transition("unknown")
    assert strategy.broken is None  # a caller's mistake does not break the rig


def test_force_shell_marks_the_card_flashed(env):
    strategy, log, *_ = make_target(env)
    strategy.force("shell")
    assert strategy.status is Status.shell
    strategy.transition("off")
    strategy.transition("shell")
    assert "card.write_image" not in log


def test_force_refuses_intermediate_states(env):
    strategy, *_ = make_target(env)
    with pytest.raises(StrategyError, match="only off and shell"):
        strategy.force("written")


def test_unconfigured_seed_breaks_at_written(tmp_path):
    config = tmp_path / "env.yaml"
    config.write_text(f"targets: {{main: {{}}}}\nimages: {{image: {tmp_path}/none.img}}\n")
    target = Target("main", env=Environment(str(config)))
    RecordingPowerDriver(target, "power")
    BootingConsoleDriver(target, "console")
    ScriptedShellDriver(target, "shell")
    FakeCardDriver(target, "card")
    strategy = FlashStrategy(target, "strategy", seed="seed")
    with pytest.raises(FlashStrategyError) as failure:
        strategy.transition("shell")
    assert failure.value.failed_at is Status.written
    assert "seed" in str(failure.value)


def test_a_prompt_buffered_before_a_power_cut_is_forgotten(env):
    """After a cut, a stale 'root@evy:/# ' must not pass for the shell of the board that is booting."""
    import pexpect

    strategy, *_ = make_target(env)
    strategy.transition("shell")
    strategy.console.rxq.insert(0, b"root@evy:/# ")
    strategy.console.expect([rb"(?s)r", pexpect.TIMEOUT], timeout=0.1)  # pexpect now holds the rest
    strategy.transition("off")
    strategy.transition("shell")
    assert strategy.console.expect([rb"# ", pexpect.TIMEOUT], timeout=0.1)[0] == 1
