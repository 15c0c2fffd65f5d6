"""The agent's systemd unit: it keeps trying forever, and its sandbox (no IP, no W+X memory, no privileged
syscalls) is one llama.cpp runs in. `systemd-analyze security --offline` scores the unit as shipped."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from evyimage import overlays, profile

REPO = Path(__file__).resolve().parents[2]
UNIT = "etc/systemd/system/evy-agent.service"
# systemd-analyze security --offline on the shipped unit (host systemd 252): 1.9 before the hardening below.
MAX_EXPOSURE = 1.4


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tree")
    overlays.apply_all(profile.load(REPO / "image/profiles/field.toml"), REPO, root)
    return root


def test_agent_is_restarted_forever_with_backoff(tree, unit_settings):
    unit = unit_settings(tree / UNIT)
    assert unit["StartLimitIntervalSec"] == ["0"]  # no start limit: systemd never gives up on the agent
    assert "StartLimitBurst" not in unit
    assert unit["Restart"] == ["always"]
    assert unit["RestartSteps"] and unit["RestartMaxDelaySec"]  # RestartSec grows up to the maximum


def test_agent_sandbox_has_no_ip_no_wx_memory_no_privileged_syscalls(tree, unit_settings):
    unit = unit_settings(tree / UNIT)
    assert unit["IPAddressDeny"] == ["any"]
    assert unit["MemoryDenyWriteExecute"] == ["yes"]
    assert "~@privileged" in unit["SystemCallFilter"] and "@system-service" in unit["SystemCallFilter"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (systemd)")
def test_systemd_analyze_security_offline_exposure(tree):
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", f"--root={tree}",
                             "--no-pager", "evy-agent.service"], capture_output=True, text=True)
    if "--offline" in result.stderr and "unrecognized" in result.stderr:
        pytest.skip("systemd-analyze too old for --offline (needs systemd 250)")
    report = result.stdout
    exposure = float(re.search(r"Overall exposure level for evy-agent\.service: ([0-9.]+)", report).group(1))
    assert exposure <= MAX_EXPOSURE, report[-3000:]
    for passed in ("IPAddressDeny=", "MemoryDenyWriteExecute=", "SystemCallFilter=~@privileged"):
        assert re.search(rf"^✓ {re.escape(passed)}", report, re.MULTILINE), passed


MDWE_PROGRAM = r"""
import ctypes, mmap, sys
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
    print("no-mdwe"); sys.exit(0)
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    print("mdwe-not-enforced"); sys.exit(1)
except PermissionError:
    pass
from evy.llm import lockfile
from llama_cpp import Llama
path = lockfile.resolve(lockfile.find(lockfile.load(), "smollm2-135m-instruct"), __import__("pathlib").Path("/x"))
llm = Llama(model_path=str(path), n_ctx=256, n_threads=1, verbose=False)
out = llm("The capital of France is", max_tokens=4, temperature=0)
print("generated:", repr(out["choices"][0]["text"]))
"""


def test_llama_cpp_runs_with_memory_deny_write_execute():
    """The kernel's own W^X (PR_SET_MDWE, what systemd 257 uses for MemoryDenyWriteExecute= on Linux 6.3+):
    a W+X mapping is refused, and llama.cpp still loads the pinned chat model and generates."""
    pytest.importorskip("llama_cpp")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "agent"), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", MDWE_PROGRAM], capture_output=True, text=True, env=env,
                            timeout=240)
    if result.stdout.strip() == "no-mdwe":
        pytest.skip("kernel without PR_SET_MDWE (Linux < 6.3)")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "generated:" in result.stdout


# DeviceAllow=char-NAME → the module that registers NAME in /proc/devices (Debian arm64; built-ins omitted:
# ttyS 8250, ttyAMA pl011, virtio-portsdev, gpiochip, spi (spidev); rtc is read-only and built in).
DEVICE_CLASS_MODULES = {"ttyUSB": "usbserial", "ttyACM": "cdc_acm", "i2c": "i2c_dev"}
BUILT_IN_CLASSES = {"ttyS", "ttyAMA", "virtio-portsdev", "gpiochip", "spi", "rtc"}


def test_every_allowed_device_class_exists_before_the_agent_starts(tree, unit_settings):
    """systemd resolves DeviceAllow=char-NAME once, at start: a class whose driver loads later (a USB modem
    enumerating after the agent started) is denied for the agent's whole life. Second boot in QEMU: EPERM on
    /dev/ttyUSB0 for ever, the agent never served."""
    classes = {value.split()[0].removeprefix("char-") for value in unit_settings(tree / UNIT)["DeviceAllow"]
               if value.startswith("char-")}
    loaded = {line.strip() for line in (tree / "etc/modules-load.d/evy-agent-devices.conf").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    assert classes - BUILT_IN_CLASSES == set(DEVICE_CLASS_MODULES)
    assert set(DEVICE_CLASS_MODULES.values()) <= loaded
