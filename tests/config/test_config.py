"""The settings table drives parsing, defaults, validation and `evy config show|check`."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evy.config import parse
from evy.config.loader import render_toml
from evy.config.table import SETTINGS
from evy.errors import ConfigError


def test_empty_config_gives_every_default():
    config = parse("")
    for setting in SETTINGS:
        expected = None if setting.default is None else setting.parse(setting.default)
        assert config[setting.key] == expected, setting.key
    assert config.modem.port == "/dev/ttyS0"
    assert config.emergency_number == "112"


def test_country_picks_the_national_number_and_override_wins():
    assert parse('country = "KE"').emergency_number == "999"
    assert parse('country = "us"').emergency_number == "911"
    assert parse('country = "KE"\nemergency_number = "1199"').emergency_number == "1199"


@pytest.mark.parametrize(("text", "message"), [
    ('[modem]\nprot = "/dev/ttyS0"', "modem.prot: unknown setting (did you mean modem.port?)"),
    ("[modem]\nbaud = 12", "modem.baud: must be from 1200 to 921600, got 12"),
    ('[modem]\nbaud = "fast"', "modem.baud: expected an integer, got str 'fast'"),
    ('[modem]\nbackend = "usb"', "modem.backend: must be one of at, gammu; got 'usb'"),
    ('country = "Kenya"', "country: expected an ISO 3166 alpha-2 country code"),
    ('country = "ZZ"', "country: no verified emergency number for 'ZZ'"),
    ("[modem", "not valid TOML"),
])
def test_bad_values_name_the_key_and_the_reason(text, message):
    with pytest.raises(ConfigError) as info:
        parse(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_rendered_config_parses_back_to_the_same_values():
    config = parse('country = "PH"\n[modem]\nport = "/dev/ttyUSB2"\nheartbeat = 12.5')
    again = parse(render_toml(config))
    assert dict(again.items()) == dict(config.items())


def test_every_setting_is_documented():
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "config.md").read_text()
    missing = [s.key for s in SETTINGS if f"`{s.key}`" not in doc]
    assert not missing, f"docs/config.md lacks {missing}; run `invoke docs`"


integers = st.integers(min_value=-10**6, max_value=10**6)


@given(baud=integers, attempts=integers)
def test_integer_settings_accept_exactly_their_range(baud, attempts):
    text = f"[modem]\nbaud = {baud}\n[outbox]\nmax_attempts = {attempts}"
    ok = 1200 <= baud <= 921600 and 1 <= attempts <= 100
    if ok:
        config = parse(text)
        assert (config.modem.baud, config.outbox.max_attempts) == (baud, attempts)
    else:
        with pytest.raises(ConfigError):
            parse(text)


@given(st.dictionaries(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12),
                       st.integers(), max_size=4))
def test_unknown_keys_are_always_rejected(table):
    known = {s.key for s in SETTINGS}
    text = "\n".join(f"{key} = {value}" for key, value in table.items())
    if set(table) & known or not table:
        return
    with pytest.raises(ConfigError, match="unknown setting"):
        parse(text)
    tomllib.loads(text)  # the TOML itself was fine: the table rejected it


def run_evy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evy", *args], capture_output=True, text=True, timeout=60)


def test_cli_check_and_show(tmp_path):
    good = tmp_path / "evy.toml"
    good.write_text('country = "KE"\n[modem]\nport = "/dev/ttyAMA0"\n')
    result = run_evy("config", "check", "--config", str(good))
    assert result.returncode == 0 and "emergency number 999" in result.stdout
    shown = run_evy("config", "show", "--config", str(good))
    assert 'port = "/dev/ttyAMA0"' in shown.stdout and 'country = "KE"' in shown.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[modem]\nbaud = -1\n")
    result = run_evy("config", "check", "--config", str(bad))
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "modem.baud" in result.stderr


NON_FINITE = ["nan", "+nan", "-nan", "inf", "+inf", "-inf"]


def _setting_line(setting, value: str) -> str:
    header = f"[{setting.section}]\n" if setting.section else ""
    return f"{header}{setting.name} = {value}"


@given(setting=st.sampled_from(SETTINGS), value=st.sampled_from(NON_FINITE))
def test_no_setting_accepts_nan_or_infinity(setting, value):
    with pytest.raises(ConfigError) as info:
        parse(_setting_line(setting, value))
    assert setting.key in str(info.value) and "\n" not in str(info.value)


@settings(max_examples=40, deadline=None)
@given(depth=st.integers(min_value=1, max_value=20000), kind=st.sampled_from(["array", "table", "inline"]))
def test_deep_nesting_is_a_one_line_error_never_a_traceback(depth, kind):
    if kind == "array":
        text = "x = " + "[" * depth + "]" * depth
    elif kind == "table":
        text = "[" + ".".join(["a"] * depth) + "]\n"
    else:
        text = "x = " + "{a = " * depth + "1" + "}" * depth
    try:
        parse(text)
    except ConfigError as exc:
        assert "\n" not in str(exc)


def test_rate_window_nan_is_refused_with_the_key():
    with pytest.raises(ConfigError, match=r"guards\.rate_window: .*finite"):
        parse("[guards]\nrate_window = nan")
