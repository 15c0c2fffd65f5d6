"""Pipeline benchmark: a real `evy run` process on a simulated SIM800 over a pty.

- latency: +CMTI (a message lands on the SIM) → AT+CMSS (its reply leaves), template replies, one at a time;
- throughput: a burst of messages, answered as fast as the 20-slot SIM lets them in;
- rss: the agent process's peak resident memory;
- baseline: the bare AT round trip on the same pty, the floor any pipeline stands on.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from evy.pipeline.kit import join_replies
from evy.sms.simulator import ModemSimulator


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _at_round_trip_ms(port: str, count: int) -> float:
    import serial

    with serial.Serial(port, 115200, timeout=1) as link:
        link.write(b"ATE0\r")
        time.sleep(0.1)
        link.reset_input_buffer()
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            link.write(b"AT\r")
            reply = b""
            while b"OK" not in reply:
                reply += link.read(link.in_waiting or 1)
            samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _wait(condition, timeout: float) -> None:
    """Poll gently: the simulated modem's thread shares this process's GIL with the poller."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the agent did not answer in time")
        time.sleep(0.005)


def _complete_replies(simulator: ModemSimulator) -> int:
    return sum(r.complete for r in join_replies(list(simulator.sent)))


def run(quick: bool = False) -> dict:
    """The safety template (basic) and the brain's protocol replies (triage + protocol + compression, its
    RAG/LLM follow-ups off: they leave later and are measured by the llm benchmark)."""
    basic = measure(quick, "basic")
    brain = measure(quick, "brain")
    return {"basic": basic, "brain": brain, "targets": {"latency_ms_p95": 20, "agent_peak_rss_mb": 80}}


def measure(quick: bool, responder: str) -> dict:
    messages = 50 if quick else 200
    burst = 40 if quick else 200
    simulator = ModemSimulator().start()
    baseline_ms = _at_round_trip_ms(simulator.port, 50 if quick else 200)
    with tempfile.TemporaryDirectory(prefix="evy-bench-") as tmp:
        config = Path(tmp) / "evy.toml"
        config.write_text(f'country = "KE"\nresponder = "{responder}"\ndata_dir = "{tmp}"\nlog_level = "warning"\n'
                          f'[modem]\nport = "{simulator.port}"\nstatus_reports = false\n'
                          "[guards]\nrate_limit = 10000\nignore_short_codes = false\n[brain]\nfollowup = false\n")
        agent = subprocess.Popen([sys.executable, "-m", "evy", "run", "--config", str(config)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            start = datetime.now(UTC).replace(microsecond=0)
            simulator.deliver("+254700000000", "warm up", timestamp=start)
            _wait(lambda: _complete_replies(simulator) == 1, 60)
            latencies = []
            for n in range(messages):
                before = len(simulator.sent)
                delivered = time.monotonic()
                simulator.deliver(f"+2547{n:08d}", f"help {n}: water rising", timestamp=start + timedelta(seconds=n))
                first_part = simulator.wait_sent(before + 1, timeout=30)[before]
                latencies.append((first_part.at - delivered) * 1000)
                _wait(lambda n=n: _complete_replies(simulator) == n + 2, 30)
            answered = _complete_replies(simulator)
            began = time.monotonic()
            for n in range(burst):
                simulator.deliver(f"+2548{n:08d}", f"flood {n}", timestamp=start + timedelta(seconds=n))
            _wait(lambda: _complete_replies(simulator) >= answered + burst, 300)
            throughput = burst / (time.monotonic() - began)
            rss = _peak_rss_mb(agent.pid)
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=30)
            simulator.stop()
    return {
        "responder": responder,
        "messages": messages,
        "latency_ms_p50": round(statistics.median(latencies), 2),
        "latency_ms_p95": round(_percentile(latencies, 0.95), 2),
        "latency_ms_max": round(max(latencies), 2),
        "baseline_at_round_trip_ms_p50": round(baseline_ms, 3),
        "burst": burst,
        "throughput_msgs_per_s": round(throughput, 1),
        "agent_peak_rss_mb": round(rss, 1),
        "cpus": os.cpu_count(),
        "load_average_1m": os.getloadavg()[0],
    }
