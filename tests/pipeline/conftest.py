"""Fixtures the pipeline tests share: a real, small filesystem to fill up, and `evy run` as a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture
def small_partition(tmp_path: Path):
    """A real 2 MB tmpfs, so "disk full" is the kernel's ENOSPC and not a simulation."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mountpoint = tmp_path / "data"
    mountpoint.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mountpoint)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    yield mountpoint
    subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def fill(ballast: Path) -> Path:
    """Write ``ballast`` until the filesystem refuses (to the last block); remove it to make room again."""
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return ballast


@pytest.fixture
def fill_disk() -> Callable[[Path], Path]:
    return fill


class AgentProcesses:
    """``evy run`` as a real process, optionally told to crash at a named point (EVY_CRASH_AT), stopped the way
    systemd stops it (SIGTERM, SIGKILL after a grace period). Whatever a test leaves running is stopped."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen] = []

    def start(self, config: Path, crash_at: str | None = None, **popen: object) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if k != "EVY_CRASH_AT"}
        if crash_at:
            env["EVY_CRASH_AT"] = crash_at
        options: dict = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "text": True, **popen}
        agent = subprocess.Popen([sys.executable, "-m", "evy", "run", "--config", str(config)], **options)
        self.started.append(agent)
        return agent

    @staticmethod
    def stop(agent: subprocess.Popen, timeout: float = 20.0) -> str:
        """Stop the agent if it still runs; its stderr (when piped), all of it."""
        if agent.poll() is None:
            agent.send_signal(signal.SIGTERM)
        try:
            stderr = agent.communicate(timeout=timeout)[1]
        except subprocess.TimeoutExpired:
            agent.kill()
            stderr = agent.communicate()[1]
        return stderr or ""


@pytest.fixture
def agents() -> Iterator[AgentProcesses]:
    processes = AgentProcesses()
    yield processes
    for agent in processes.started:
        if agent.poll() is None:
            processes.stop(agent)
