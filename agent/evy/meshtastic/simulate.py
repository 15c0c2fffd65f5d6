"""`evy sim --meshtastic`: you are a Meshtastic user. Each line you type is a PKI direct message from your
node to the kit's (the twin node on a pty, driven by the real library); ``/channel <text>`` sends it to
everyone on the kit's channel, ``/nopki <text>`` as a direct message without PKI. What reaches your node (and
the channel) is printed as it arrives, one line per direct message."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from pathlib import Path

USER = 0xA1B2C3D4
SETTLE = 3.0  # seconds without a new message before the simulator ends after the input did


def run_meshtastic_sim(args: argparse.Namespace) -> int:
    from evy.meshtastic.address import node_id
    from evy.meshtastic.twin import MeshtasticTwin
    from evy.pipeline.kit import SimulatedKit

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    base = Path(args.config).read_text(encoding="utf-8") if args.config else ""
    overrides = {"meshtastic__enabled": True}
    if args.country:
        overrides["country"] = args.country
    if args.responder:
        overrides["responder"] = args.responder
    with MeshtasticTwin() as twin:
        twin.add_node(USER, "You")
        with SimulatedKit(base, meshtastic__port=twin.port, **overrides) as kit:
            twin.wait_for(lambda: kit.agent.meshtastic is not None and kit.agent.meshtastic.connected, timeout=30)
            print(f"EVY simulator: you are Meshtastic node {node_id(USER)}; the kit's node is "
                  f"{node_id(twin.node_num)}. Type a message (/channel or /nopki before it to send it another "
                  "way), Ctrl-D to quit.", flush=True)
            printer = _Printer(twin, node_id(USER))
            printer.start()
            for line in sys.stdin:
                text = line.strip()
                if text.startswith("/channel "):
                    twin.channel(USER, text.removeprefix("/channel ").strip(), channel=kit.config["meshtastic.channel"])
                elif text.startswith("/nopki "):
                    twin.direct(USER, text.removeprefix("/nopki ").strip(), pki=False)
                elif text:
                    twin.direct(USER, text)
            printer.wait_quiet(args.timeout)
            printer.stop()
    return 0


class _Printer:
    def __init__(self, twin, me: str):
        self.twin, self.me = twin, me
        self.printed = 0
        self.last_new = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="evy-sim-meshtastic", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def wait_quiet(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (self.printed == 0 or time.monotonic() - self.last_new < SETTLE):
            time.sleep(0.1)

    def _run(self) -> None:
        while not self._stop.is_set():
            seen = [p for p in self.twin.delivered if p.to in (self.me, "^all")]
            for packet in seen[self.printed:]:
                where = "to everyone" if packet.to == "^all" else "to you"
                print(f"kit ({where}): {packet.text}", flush=True)
                self.last_new = time.monotonic()
            self.printed = len(seen)
            time.sleep(0.05)
