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
    for unit in ("ldconfig.service", "modprobe@drm.service", "systemd-binfmt.service", "sys-kernel-debug.mount",
                 "systemd-sysusers.service"):
        assert os.readlink(system / unit) == "/dev/null", unit
    for generator in ("systemd-ssh-generator", "systemd-gpt-auto-generator", "systemd-sysv-generator"):
        assert os.readlink(tree / "etc/systemd/system-generators" / generator) == "/dev/null"
    assert (system / "multi-user.target.wants/evy-agent.service").is_symlink()
    assert not (tree / "etc/systemd/system-generators/systemd-fstab-generator").exists()


def test_sysusers_is_masked_only_when_the_build_made_its_users(tmp_path):
    tree = tree_with_units(tmp_path / "tree")
    (tree / "etc").mkdir(exist_ok=True)
    (tree / "usr/lib/sysusers.d").mkdir(parents=True)
    (tree / "usr/lib/sysusers.d/systemd-network.conf").write_text(
        "# comment\nu! systemd-network - \"systemd Network Management\"\ng %S-ignored -\nm systemd-network adm\n")
    (tree / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (tree / "etc/group").write_text("root:x:0:\n")
    assert customise.sysusers_missing(tree) == ["systemd-network (systemd-network.conf)"]
    with pytest.raises(customise.StageError, match="systemd-network"):
        customise.units(tree, None, BuildLog(tmp_path / "log"))
    (tree / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\nsystemd-network:x:998:998::/:/usr/sbin/nologin\n")
    (tree / "etc/group").write_text("root:x:0:\nsystemd-network:x:998:\n")
    assert customise.sysusers_missing(tree) == []
    customise.units(tree, None, BuildLog(tmp_path / "log"))
    assert os.readlink(tree / "etc/systemd/system/systemd-sysusers.service") == "/dev/null"
