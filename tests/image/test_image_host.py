"""Host checks (binfmt states, missing tools) and the console framing used by the QEMU boot test."""

import shutil
from pathlib import Path

import pytest
from evyimage import hostcheck
from evyimage.console import Console, Shell
from evyimage.errors import BootTestError, HostError


def binfmt(tmp_path: Path, entry: str | None) -> Path:
    folder = tmp_path / "binfmt_misc"
    folder.mkdir()
    (folder / "status").write_text("enabled\n")
    if entry is not None:
        (folder / "qemu-aarch64").write_text(entry)
    return folder


@pytest.mark.parametrize(("entry", "state"), [
    ("enabled\ninterpreter /bin/sh\nflags: PF\n", "enabled"),
    ("disabled\ninterpreter /bin/sh\nflags: PF\n", "disabled"),
    ("enabled\ninterpreter /nonexistent/qemu\nflags: F\n", "is missing"),
    ("enabled\ninterpreter /bin/sh\nflags: P\n", "F (fix binary) flag"),
    (None, "no qemu-aarch64 binfmt handler"),
])
def test_binfmt_states(tmp_path, entry, state):
    assert state in hostcheck.binfmt_state(binfmt(tmp_path, entry))


def test_binfmt_not_mounted_is_a_clear_error(tmp_path):
    with pytest.raises(HostError, match=r"binfmt_misc is not mounted.*invoke setup-host"):
        hostcheck.require_binfmt(tmp_path)


def test_missing_tools_name_their_package():
    with pytest.raises(HostError, match=r"no-such-tool-xyz \(package pkg-xyz\)"):
        hostcheck.require_tools({"no-such-tool-xyz": "pkg-xyz", "sh": "dash"})


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_shell_framing_gives_exact_output_and_status(tmp_path):
    console = Console(["bash", "--norc", "--noprofile", "-i"], tmp_path / "console.log").start()
    try:
        shell = Shell(console)
        shell.prepare()
        assert shell.run("printf 'a\\nb\\n'") == (0, "a\nb")
        assert shell.run("false")[0] == 1
        assert shell.run("echo EVY0099E 5; echo done") == (0, "EVY0099E 5\ndone")
        with pytest.raises(BootTestError, match="timed out"):
            console.expect("never-printed", 0.5, "a pattern")
    finally:
        console.send("exit\n")
        console.stop(10)
    assert (tmp_path / "console.log").stat().st_size > 0
