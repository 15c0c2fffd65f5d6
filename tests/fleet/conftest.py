"""A real Mosquitto on loopback (TLS with a CA made by the test, a login per client) and helpers to run kits
and the coordination cell as processes of their own."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import evy
from evy.fleet.broker import LocalBroker, mosquitto_binary
from evy.hq.db import HqDatabase

AGENT_DIR = Path(evy.__file__).parents[1]
LOGINS = {"kit-a": "pw-a", "kit-b": "pw-b", "kit-ns": "pw-ns", "evy-hq": "pw-hq"}


def wait_for(condition, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def broker(tmp_path):
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (invoke setup)")
    with LocalBroker(tmp_path / "broker", logins=LOGINS) as running:
        yield running


def write_config(path: Path, broker: LocalBroker, client: str, data_dir: Path, extra: str = "",
                 host: str | None = None) -> Path:
    """A config file for a kit (client = its kit id) or the cell (client = evy-hq)."""
    settings = broker.settings(client)
    lines = [f'data_dir = "{data_dir}"', 'log_level = "info"', "[fleet]", "enabled = true",
             f'broker_host = "{host or settings["fleet__broker_host"]}"',
             f"broker_port = {settings['fleet__broker_port']}",
             f"tls = {'true' if settings['fleet__tls'] else 'false'}", f'ca_file = "{settings["fleet__ca_file"]}"',
             f'credentials_file = "{settings["fleet__credentials_file"]}"', "keepalive = 5",
             "health_interval = 86400", "metrics_interval = 86400"]
    if client != "evy-hq":
        lines.append(f'kit_id = "{client}"')
    lines += extra.splitlines()
    lines += ["[hq]", f'database = "{data_dir / "hq.sqlite"}"', 'listen = ""']
    path.write_text("\n".join(lines) + "\n")
    return path


def evy_process(*args: str, prefix: tuple[str, ...] = ()) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(AGENT_DIR)}
    return subprocess.Popen([*prefix, sys.executable, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


class Cell:
    """`evy hq run` in a process of its own, and reads of its database."""

    def __init__(self, tmp: Path, broker: LocalBroker):
        self.dir = tmp / "hq"
        self.dir.mkdir(exist_ok=True)
        self.config = write_config(self.dir / "hq.toml", broker, "evy-hq", self.dir)
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start and wait for the subscription: the broker drops what kits publish before the cell's session
        exists (a deployment starts the cell first)."""
        self.process = evy_process("-m", "evy", "hq", "run", "--config", str(self.config))
        while "cell subscribed" not in (line := self.process.stderr.readline()):
            assert line, "evy hq exited before subscribing"

    def kill(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        self.process.wait(10)

    def ids(self, kit: str | None = None) -> list[str]:
        if not (self.dir / "hq.sqlite").exists():
            return []
        with HqDatabase(self.dir / "hq.sqlite") as database:
            return [i for i in database.event_ids() if kit is None or i.startswith(f"{kit}:")]

    def database(self) -> HqDatabase:
        return HqDatabase(self.dir / "hq.sqlite")


@pytest.fixture
def cell(tmp_path, broker):
    running = Cell(tmp_path, broker)
    running.start()
    yield running
    if running.process is not None and running.process.poll() is None:
        running.kill(15)
