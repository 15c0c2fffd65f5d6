"""The cell's systemd units (deploy/hq/: not part of the kit image): `evy hq run` and `evy hq console` as two
services on one config file, restarted for ever (exit 75, a database that is down, comes back), writing only
the cell's database folder, and sandboxed like the kit's units (`systemd-analyze verify` clean, the
`security --offline` exposure within the kit's console's bound)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evy.config import parse

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "hq"
COMMANDS = {"evy-hq.service": "/usr/local/bin/evy hq run --config /etc/evy/hq.toml",
            "evy-hq-console.service": "/usr/local/bin/evy hq console --config /etc/evy/hq.toml"}
MAX_EXPOSURE = 1.5
NEWER_KEYS = ("RestartSteps", "RestartMaxDelaySec")  # systemd 254+; an older one warns and ignores them


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_unit_runs_its_command_for_ever_and_writes_only_the_cells_database_folder(name, unit_settings):
    unit = unit_settings(UNITS / name)
    assert unit["ExecStart"] == [COMMANDS[name]]
    assert unit["Restart"] == ["always"] and unit["StartLimitIntervalSec"] == ["0"]
    assert unit["User"] == ["evy"] and unit["ProtectSystem"] == ["strict"]
    database_folder = str(parse("")["hq.database"].parent)  # the default hq.database's folder
    assert unit["ReadWritePaths"] == [database_folder] and unit["StateDirectory"] == [Path(database_folder).name]
    assert unit["CapabilityBoundingSet"] == [""] and unit["NoNewPrivileges"] == ["yes"]


@pytest.fixture()
def installed(tmp_path) -> Path:
    """The units as installed, their ExecStart pointing at an executable this machine has (verify checks it)."""
    for name in COMMANDS:
        text = (UNITS / name).read_text().replace("/usr/local/bin/evy", sys.executable)
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (systemd)")
def test_systemd_analyze_verifies_both_units(installed):
    result = subprocess.run(["systemd-analyze", "verify", *(str(installed / name) for name in COMMANDS)],
                            capture_output=True, text=True)
    complaints = [line for line in (result.stdout + result.stderr).splitlines()
                  if line.strip() and not any(f"Unknown key '{key}'" in line for key in NEWER_KEYS)]
    assert result.returncode == 0 and complaints == [], complaints


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (systemd)")
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_systemd_analyze_security_offline_exposure(installed, name):
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", str(installed / name)],
                            capture_output=True, text=True)
    if "--offline" in result.stderr and "unrecognized" in result.stderr:
        pytest.skip("systemd-analyze too old for --offline (needs systemd 250)")
    exposure = float(re.search(rf"Overall exposure level for {re.escape(name)}: ([0-9.]+)", result.stdout).group(1))
    assert exposure <= MAX_EXPOSURE, result.stdout[-3000:]
