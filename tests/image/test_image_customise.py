"""The unit stage on a small tree with the host's `systemctl --root`: what is enabled, masked (instances of
templates too) and which generators are switched off for boot time."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from evyimage import customise
from evyimage.progress import BuildLog

pytestmark = pytest.mark.skipif(shutil.which("systemctl") is None, reason="needs systemctl (systemd)")


def tree_with_units(root: Path) -> Path:
    system = root / "usr/lib/systemd/system"
    system.mkdir(parents=True)
    for unit in {*customise.ENABLE, *customise.MASK, *customise.UNMASK, "modprobe@.service"}:
        if "@" in unit.split(".")[0] and not unit.startswith("modprobe@."):
            continue  # instances come from their template
        (system / unit).write_text("[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\n"
                                   "[Install]\nWantedBy=multi-user.target\n")
    (root / "usr/lib/systemd/system-generators").mkdir(parents=True)
    return root


def test_boot_time_units_and_generators_are_masked(tmp_path):
    tree = tree_with_units(tmp_path / "tree")
    customise.units(tree, None, BuildLog(tmp_path / "log"))
    system = tree / "etc/systemd/system"
    for unit in ("ldconfig.service", "modprobe@drm.service", "systemd-binfmt.service", "sys-kernel-debug.mount"):
        assert os.readlink(system / unit) == "/dev/null", unit
    for generator in ("systemd-ssh-generator", "systemd-gpt-auto-generator", "systemd-sysv-generator"):
        assert os.readlink(tree / "etc/systemd/system-generators" / generator) == "/dev/null"
    assert (system / "multi-user.target.wants/evy-agent.service").is_symlink()
    assert not (tree / "etc/systemd/system-generators/systemd-fstab-generator").exists()
