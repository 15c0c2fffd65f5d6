"""`evy power`: one JSON object with the reading, free memory and the budget; errors are one line, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evy.cli import main

AGENT = Path(__file__).parents[2] / "agent"


def run_cli(capsys, *args: str) -> tuple[int, dict | None, str]:
    code = main(["power", *args])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def config_file(tmp_path, body: str) -> str:
    path = tmp_path / "evy.toml"
    path.write_text(body)
    return str(path)


def test_a_low_simulated_battery(capsys, tmp_path):
    code, data, _ = run_cli(capsys, "--config", config_file(tmp_path, '[power]\nsource = "sim"\nsim_battery = 25\n'))
    assert code == 0 and data["source"] == "sim"
    assert data["power"]["battery_pct"] == 25 and data["power"]["volts"] > 11
    assert data["budget"]["mode"] == "rag-only" and data["budget"]["allow_followup"] is True
    assert data["budget"]["reason"].startswith("battery 25% < 30%")
    assert data["free_mb"] is None or data["free_mb"] > 0


def test_a_fake_sysfs_tree_and_the_source_override(capsys, tmp_path):
    battery = tmp_path / "ps" / "BAT0"
    battery.mkdir(parents=True)
    for name, value in (("type", "Battery"), ("capacity", "17"), ("status", "Discharging")):
        (battery / name).write_text(value + "\n")
    config = config_file(tmp_path, f'[power]\nsource = "sim"\nsysfs_root = "{tmp_path / "ps"}"\n')
    code, data, _ = run_cli(capsys, "--config", config, "--source", "sysfs")
    assert code == 0 and data["source"] == "sysfs" and data["power"]["battery_pct"] == 17
    assert data["budget"]["mode"] == "templates-only" and data["budget"]["allow_llm"] is False


def test_a_missing_i2c_bus_is_one_error_line(capsys, tmp_path):
    code, data, err = run_cli(capsys, "--config", config_file(tmp_path, '[power]\nsource = "ina219"\ni2c_bus = 250\n'))
    assert code == 2 and data is None
    assert err.startswith("error: cannot open /dev/i2c-250") and err.count("\n") == 1


def test_a_bad_setting_is_one_error_line(capsys, tmp_path):
    code, _, err = run_cli(capsys, "--config", config_file(tmp_path, '[power]\npack = "nicd"\n'))
    assert code == 2 and "power.pack" in err and err.count("\n") == 1


@pytest.mark.parametrize("source", ["none", "sysfs"])
def test_runs_as_a_command_on_this_machine(source):
    env = {**os.environ, "PYTHONPATH": str(AGENT)}
    done = subprocess.run([sys.executable, "-m", "evy", "power", "--source", source], capture_output=True,
                          text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["budget"]["mode"] in ("full", "rag-only", "templates-only")
