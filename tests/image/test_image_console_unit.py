"""The console's systemd unit: its own process, enabled in the field image, sandboxed like the agent's and
reachable only from loopback and private networks. `systemd-analyze security --offline` scores it as shipped."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from evyimage import customise, overlays, profile

REPO = Path(__file__).resolve().parents[2]
UNIT = "etc/systemd/system/evy-console.service"
MAX_EXPOSURE = 1.4  # the agent's bound


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tree")
    overlays.apply_all(profile.load(REPO / "image/profiles/field.toml"), REPO, root)
    return root


def test_the_console_is_its_own_service_enabled_in_the_field_image(tree, unit_settings):
    unit = unit_settings(tree / UNIT)
    assert unit["ExecStart"] == ["/usr/local/bin/evy console --config /etc/evy/evy.toml"]
    assert unit["User"] == ["evy"] and unit["Restart"] == ["always"] and unit["StartLimitIntervalSec"] == ["0"]
    assert unit["ReadWritePaths"] == ["/var/lib/evy"]
    assert "evy-console.service" in customise.ENABLE
    packages = profile.load(REPO / "image/profiles/field.toml")["base.packages"]
    assert {"python3-starlette", "python3-uvicorn", "python3-jinja2", "python3-argon2"} <= set(packages)


def test_only_loopback_and_private_networks_reach_it(tree, unit_settings):
    unit = unit_settings(tree / UNIT)
    assert unit["IPAddressDeny"] == ["any"]
    allowed = unit["IPAddressAllow"][0].split()
    assert "localhost" in allowed and "0.0.0.0/0" not in allowed and "100.64.0.0/10" not in allowed


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (systemd)")
def test_systemd_analyze_security_offline_exposure(tree):
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", f"--root={tree}", "--no-pager",
                             "evy-console.service"], capture_output=True, text=True)
    if "--offline" in result.stderr and "unrecognized" in result.stderr:
        pytest.skip("systemd-analyze too old for --offline (needs systemd 250)")
    report = result.stdout
    exposure = float(re.search(r"Overall exposure level for evy-console\.service: ([0-9.]+)", report).group(1))
    assert exposure <= MAX_EXPOSURE, report[-3000:]
