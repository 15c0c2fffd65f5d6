"""Start-up benchmark: how soon a fresh `evy run` tells systemd it is ready, and how soon it answers.

- import_ms: ``import evy.pipeline.runner`` in a fresh interpreter (what `evy run` loads before it starts);
- modules_before_ready, cpu_before_ready_ms: what `evy run` has imported, and the CPU time it has spent, when
  it opens the store (the command line, the config, the runner); modules count the same under any load;
- ready_s: process start → ``READY=1`` on $NOTIFY_SOCKET (the store is open; the modem is opened next);
- receiving_s: process start → ``STATUS=receiving`` (modem open, backlog read, the loop about to run);
- first_reply_s: process start → the reply to an SMS that landed on the SIM at the moment of READY.

Under QEMU (the image's boot test) every figure is some 40 times larger; the ratios hold.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evy.pipeline.kit import join_replies
from evy.sms.simulator import ModemSimulator


def _import_ms() -> float:
    """Cumulative import time of the runner, as ``-X importtime`` reports it (µs → ms)."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", "import evy.pipeline.runner"],
                            capture_output=True, text=True, check=True)
    for line in reversed(result.stderr.splitlines()):
        if line.rstrip().endswith("| evy.pipeline.runner"):
            return int(line.split("|")[1]) / 1000
    raise RuntimeError("evy.pipeline.runner not in the import-time report")


BEFORE_READY = """
import sys, time
from evy.cli import build_parser
build_parser()
from evy.config import parse
parse("")
import evy.pipeline.runner
print(len(sys.modules), time.process_time() * 1000)
"""


def _before_ready() -> tuple[int, float]:
    result = subprocess.run([sys.executable, "-c", BEFORE_READY], capture_output=True, text=True, check=True)
    modules, cpu_ms = result.stdout.split()
    return int(modules), float(cpu_ms)


def _one_start(directory: Path) -> dict[str, float]:
    sim = ModemSimulator().start()
    config = directory / "evy.toml"
    config.write_text(f'data_dir = "{directory}"\ncountry = "KE"\n[modem]\nport = "{sim.port}"\n'
                      "command_timeout = 2.0\n")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(directory / "notify.sock"))
    env = {**os.environ, "NOTIFY_SOCKET": str(directory / "notify.sock")}
    started = time.monotonic()
    agent = subprocess.Popen([sys.executable, "-m", "evy", "run", "--config", str(config)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    figures: dict[str, float] = {}
    try:
        listener.settimeout(120)
        while "receiving_s" not in figures:
            message = listener.recv(4096).decode()
            if "READY=1" in message and "ready_s" not in figures:
                figures["ready_s"] = time.monotonic() - started
                sim.deliver("+254711000001", "my child has a high fever")
            if "STATUS=receiving" in message:
                figures["receiving_s"] = time.monotonic() - started
        deadline = time.monotonic() + 60
        while not any(r.complete for r in join_replies(list(sim.sent))):
            if time.monotonic() > deadline:
                raise TimeoutError("no reply within 60 s")
            time.sleep(0.01)
        figures["first_reply_s"] = time.monotonic() - started
    finally:
        agent.send_signal(signal.SIGTERM)
        try:
            agent.wait(timeout=30)
        except subprocess.TimeoutExpired:
            agent.kill()
        listener.close()
        sim.stop()
    return figures


def run(quick: bool = False) -> dict[str, float]:
    rounds = 1 if quick else 3
    imports = [_import_ms() for _ in range(rounds)]
    starts = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="evy-bench-start-") as directory:
            starts.append(_one_start(Path(directory)))
    before = [_before_ready() for _ in range(rounds)]
    figures = {"import_ms": round(statistics.median(imports), 1),
               "modules_before_ready": statistics.median(m for m, _ in before),
               "cpu_before_ready_ms": round(statistics.median(c for _, c in before), 1)}
    for name in ("ready_s", "receiving_s", "first_reply_s"):
        figures[name] = round(statistics.median(s[name] for s in starts), 3)
    return figures
