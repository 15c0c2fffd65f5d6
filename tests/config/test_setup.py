"""`invoke setup` knows every Debian package the tests use, so the README's two commands run every test."""

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
TEST_DIRS = (ROOT / "tests", ROOT / "hil" / "tests")


def load_tasks():
    spec = importlib.util.spec_from_file_location("evy_tasks", ROOT / "tasks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tools_the_tests_look_for() -> set[str]:
    """Commands named in the tests' skip conditions: shutil.which calls and tuples named ...TOOLS."""
    tools: set[str] = set()
    for directory in TEST_DIRS:
        for path in directory.rglob("*.py"):
            if path.resolve() == Path(__file__).resolve():
                continue
            text = path.read_text(encoding="utf-8")
            tools |= set(re.findall(r'which\(\s*"([^"]+)"', text))
            for group in re.findall(r"TOOLS\s*=\s*\(([^)]*)\)", text):
                tools |= set(re.findall(r'"([^"]+)"', group))
    return tools


def debian_package_of(command: str) -> tuple[str, bool]:
    """(package, essential) for an installed command, through dpkg's file list (merged /usr or not)."""
    found = Path(shutil.which(command)).resolve()
    candidates = {str(found), str(found).removeprefix("/usr"), "/usr" + str(found)}
    for candidate in candidates:
        result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if result.returncode == 0:
            package = result.stdout.split(":", 1)[0].split(",")[0].strip()
            essential = subprocess.run(["dpkg-query", "-W", "-f", "${Essential}", package], capture_output=True,
                                       text=True).stdout.strip() == "yes"
            return package, essential
    raise AssertionError(f"dpkg does not know which package holds {found}")


def test_every_tool_a_test_looks_for_comes_from_a_declared_package():
    if shutil.which("dpkg") is None:
        pytest.skip("needs dpkg (Debian) to map commands to packages")
    tasks = load_tasks()
    tools = tools_the_tests_look_for()
    assert {"mkfs.vfat", "bmaptool", "ssh-keygen"} <= tools, tools  # the scan still finds the skip conditions
    absent = sorted(tool for tool in tools if shutil.which(tool) is None)
    if absent:
        pytest.skip(f"not installed here, cannot map to packages: {' '.join(absent)}")
    undeclared = {}
    for tool in sorted(tools):
        package, essential = debian_package_of(tool)
        if not essential and package not in tasks.HOST_PACKAGES:
            undeclared[tool] = package
    assert not undeclared, f"tests look for these, but tasks.HOST_PACKAGES lacks their packages: {undeclared}"


def test_missing_packages_are_those_whose_command_is_not_on_path(tmp_path):
    tasks = load_tasks()
    assert tasks.missing_host_packages(path=str(tmp_path)) == list(tasks.HOST_PACKAGES)
    zstd = tmp_path / "zstd"
    zstd.write_text("#!/bin/sh\n")
    zstd.chmod(0o755)
    assert tasks.missing_host_packages(path=str(tmp_path)) == [p for p in tasks.HOST_PACKAGES if p != "zstd"]


def test_a_non_root_user_is_told_which_packages_to_install():
    tasks = load_tasks()
    line = tasks.host_install_refusal(["zstd", "mtools"], euid=1000)
    assert line.endswith("zstd mtools") and ("not root" in line or "not Debian" in line), line


def test_root_on_debian_installs_instead_of_refusing():
    tasks = load_tasks()
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        assert tasks.host_install_refusal(["zstd"]) is not None
    else:
        assert tasks.host_install_refusal(["zstd"]) is None
    assert tasks.host_install_refusal([]) is None
