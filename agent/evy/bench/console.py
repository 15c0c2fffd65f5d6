"""The operator console under load: page render times with 10,000 cases in the store (target p95 < 200 ms on
the dev machine), /metrics scrape time when the kit-health module provides it, and the agent's reply latency
while a console polls the same database like ten operators' boards at once (must stay within 10% of at rest).

Pages are fetched over HTTP from a real `evy console` process on loopback, logged in like a browser.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

CASES = 10_000
PASSWORD = "bench operator password"
TEXTS = ["my husband collapsed he is not breathing", "flood water entering the house, we are 5 people",
         "fire in the kitchen near the market", "my child has a high fever", "where is the food distribution?",
         "car accident on the main road, two injured", "snake bite on the leg"]
CATEGORIES = ["medical", "flood", "fire", "medical", "routine", "injury", "poisoning"]
STATUSES = ["new", "acknowledged", "dispatched", "resolved", "closed", "closed", "closed"]
KIT = (-1.2921, 36.8219)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def fill(path: Path, count: int) -> None:
    """``count`` cases, each with one message, through the store's own functions (as the agent leaves them)."""
    from dataclasses import replace

    from evy.cases.state import Status
    from evy.sms.simulator.network import deliver_parts
    from evy.store import Store, inbox
    from evy.store import cases as case_store

    rng = random.Random(7)
    start = time.time() - 48 * 3600
    with Store.open(path) as store:
        for number in range(count):
            sender = f"+2547{number:08d}"
            stamp = datetime.fromtimestamp(start + number * 17, UTC) + timedelta(seconds=number % 60)
            for message, pdu in deliver_parts(sender, TEXTS[number % len(TEXTS)], timestamp=stamp):
                inbox.add_part(store, message, pdu, now=start + number * 17)
        inbox.assemble(store, 60.0)
        messages = inbox.pending(store, limit=count + 10)
        with store.transaction(durable=False) as db:
            for number, stored in enumerate(messages):
                at = start + number * 17
                case = case_store.open_case(db, stored.inbound.sender, at)
                kind = number % len(TEXTS)
                located = rng.random() < 0.4
                case = replace(case, status=Status(STATUSES[rng.randrange(len(STATUSES))]),
                               category=CATEGORIES[kind], priority=min(3, kind % 4), emergency=kind % 4 < 2,
                               latitude=KIT[0] + rng.uniform(-0.05, 0.05) if located else None,
                               longitude=KIT[1] + rng.uniform(-0.05, 0.05) if located else None,
                               location_text="near the market" if located else None, last_in_at=at)
                case_store.save(db, case)
                case_store.attach_message(db, stored.inbound.message_id, case.id)
                inbox.mark_handled(db, stored.inbound.message_id, "answered")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ConsoleProcess:
    """`evy console` on loopback over a data directory, and a logged-in HTTP client for it."""

    def __init__(self, data_dir: Path, extra: str = ""):
        from evy.console.auth import hash_password

        self.port = _free_port()
        config = data_dir / "console.toml"
        config.write_text(f'data_dir = "{data_dir}"\n{extra}[cases]\nkit_position = "{KIT[0]}, {KIT[1]}"\n'
                          f'[console]\nlisten = ["127.0.0.1"]\nport = {self.port}\n'
                          f'operator_password_hash = "{hash_password(PASSWORD)}"\n')
        agent = Path(__file__).parents[2]
        self.process = subprocess.Popen([sys.executable, "-m", "evy", "console", "--config", str(config)],
                                        env={**os.environ, "PYTHONPATH": str(agent)}, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        deadline = time.monotonic() + 30
        while True:
            try:
                page = self.get("/login")
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("the console did not start") from None
                time.sleep(0.2)
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"csrf": token, "account": "operator", "password": PASSWORD}).encode()
        self.opener.open(urllib.request.Request(f"{self.base}/login", form, headers={"origin": self.base}),
                         timeout=30).read()

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.read().decode()

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def render_times(console: ConsoleProcess, code: str, rounds: int) -> dict:
    pages = {"board": "/", "board_rows": "/board/rows", "case": f"/cases/{code}", "map": "/map",
             "api_cases": "/api/cases", "export_csv": "/export.csv?status=new&status=acknowledged"}
    figures: dict = {}
    for name, path in pages.items():
        samples, size = [], 0
        for _ in range(rounds):
            begin = time.perf_counter()
            size = len(console.get(path).encode())
            samples.append((time.perf_counter() - begin) * 1000)
        figures[f"{name}_ms_median"] = round(statistics.median(samples), 1)
        figures[f"{name}_ms_p95"] = round(_percentile(samples, 0.95), 1)
        figures[f"{name}_kb"] = round(size / 1024, 1)
    try:
        samples = []
        for _ in range(rounds):
            begin = time.perf_counter()
            console.get("/metrics")
            samples.append((time.perf_counter() - begin) * 1000)
        figures["metrics_ms_p95"] = round(_percentile(samples, 0.95), 1)
    except OSError:
        figures["metrics_ms_p95"] = None  # the kit-health module (evy.health) is not on this branch
    return figures


def reply_latency(messages: int) -> dict:
    """Seconds from a phone's SMS to the agent's whole reply on the phone, one kit and one console process,
    messages alternating between a console at rest and one polled like ten operators' boards at once (board
    rows and the case list every 0.5 s), so machine load drifting during the run hits both sides alike."""
    from evy.pipeline.kit import SimulatedKit, join_replies

    latencies: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory(prefix="evy-bench-console-") as folder, \
            SimulatedKit('country = "KE"\n[llm]\nenabled = false\n[rag]\nembed_model = ""\n', data_dir=Path(folder),
                         responder="basic") as kit:
        console = ConsoleProcess(Path(folder), 'country = "KE"\n')
        polling, stop = threading.Event(), threading.Event()

        def poll() -> None:
            while not stop.is_set():
                if polling.wait(0.1):
                    for path in ("/board/rows", "/api/cases"):
                        with contextlib.suppress(OSError):  # a slow answer is what is measured, not an error
                            console.get(path)
                    stop.wait(0.5)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        try:
            stamp = datetime.now(UTC).replace(microsecond=0)
            kit.sim.deliver("+254711009999", "warm up: where is the clinic?", timestamp=stamp)
            kit.replies(1, timeout=60)  # the first answer loads triage and the protocols: not what is measured
            for number in range(2 * messages):
                busy = number % 2 == 1
                (polling.set if busy else polling.clear)()
                time.sleep(1.0)  # let the console settle into (or out of) polling
                before = len([reply for reply in join_replies(list(kit.sim.sent)) if reply.complete])
                stamp += timedelta(seconds=1)
                begin = time.perf_counter()
                kit.sim.deliver(f"+25471100{number:04d}", TEXTS[number % len(TEXTS)], timestamp=stamp)
                kit.replies(before + 1, timeout=60)
                latencies[busy].append(time.perf_counter() - begin)
        finally:
            stop.set()
            polling.set()
            poller.join(5)
            console.close()
    return {busy: {"median_s": statistics.median(samples), "p95_s": _percentile(samples, 0.95)}
            for busy, samples in latencies.items()}


def run(quick: bool) -> dict:
    from evy.cases.code import case_code

    cases = 1000 if quick else CASES
    rounds = 10 if quick else 50
    figures: dict = {"cases": cases}
    with tempfile.TemporaryDirectory(prefix="evy-bench-console-", dir="/dev/shm" if Path("/dev/shm").is_dir()
                                     else None) as folder:
        begin = time.perf_counter()
        fill(Path(folder) / "evy.db", cases)
        figures["fill_s"] = round(time.perf_counter() - begin, 1)
        console = ConsoleProcess(Path(folder))
        try:
            figures.update(render_times(console, case_code(cases // 2), rounds))
        finally:
            console.close()
    messages = 5 if quick else 20
    measured = reply_latency(messages)
    without, polled = measured[False], measured[True]
    figures["reply_median_s_without_console"] = round(without["median_s"], 3)
    figures["reply_median_s_console_polling"] = round(polled["median_s"], 3)
    figures["reply_p95_s_without_console"] = round(without["p95_s"], 3)
    figures["reply_p95_s_console_polling"] = round(polled["p95_s"], 3)
    figures["reply_median_change_pct"] = round(100 * (polled["median_s"] / without["median_s"] - 1), 1)
    return figures
