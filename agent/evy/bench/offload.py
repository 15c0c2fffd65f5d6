"""bigEVY benchmark: a small kit asks a big node over the UDP radio twin on loopback (real mesh links, real
airtimes at the default SF9/125 kHz, the second pinned model on the big node, one thread).

- transport_s: a question the big node turns down at once (its triage reads an emergency, so no model runs):
  request out, empty answer back, both acknowledged end to end;
- answer_s: a routine question answered by the big node's model, from asking to the answer at the kit;
- answered: how many of those answers arrived (the kit vets them afterwards, not measured here).
"""

from __future__ import annotations

import socket
import statistics
import tempfile
import time
from pathlib import Path

ROUTINE = ["how can I make water safe without fuel?", "what should we pack to evacuate?",
           "how do I make water safe to drink?"]
REFUSED = "my father collapsed and is not breathing, help"


def _port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(quick: bool) -> dict:
    from evy.config import parse
    from evy.llm import lockfile
    from evy.llm.convert import prepare
    from evy.mesh.keys import generate_key_file
    from evy.pipeline.meshlink import MeshLink

    rounds = 1 if quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        key, ports = generate_key_file(root / "mesh.key"), (_port(), _port())
        models = root / "models"
        entry = next(e for e in lockfile.load() if e.role == "offload")
        prepare(entry, models)

        def config(index: int, serve: bool):
            directory = root / f"node{index}"
            return parse(
                f'country = "KE"\ndata_dir = "{directory}"\n[llm]\nmodels_dir = "{models}"\nthreads = 1\n'
                f'[rag]\nembed_model = ""\n[offload]\nserve = {"true" if serve else "false"}\n'
                f'[mesh]\nenabled = true\nradio = "udp"\nkey_file = "{key}"\n'
                f'udp_bind = "127.0.0.1:{ports[index]}"\nudp_peers = ["127.0.0.1:{ports[1 - index]}"]\n'
                f'beacon_interval = 2.0\nstate_dir = "{directory / "mesh"}"\n')

        big, kit = MeshLink(config(1, True), coverage=lambda: False), MeshLink(config(0, False), coverage=lambda: False)
        big.start()
        kit.start()
        try:
            started = time.monotonic()
            while not kit.available() and time.monotonic() - started < 120:
                time.sleep(0.2)
            heard_s = time.monotonic() - started
            transport, answers, answered = [], [], 0
            for n in range(rounds):
                t0 = time.monotonic()
                kit.ask(REFUSED, max_chars=459, deadline=t0 + 60)
                transport.append(time.monotonic() - t0)
                t0 = time.monotonic()
                text = kit.ask(ROUTINE[n % len(ROUTINE)], max_chars=459, deadline=t0 + 60)
                answers.append(time.monotonic() - t0)
                answered += bool(text)
        finally:
            kit.stop()
            big.stop()
    return {"model": entry.name, "big_node_heard_s": round(heard_s, 1),
            "transport_s": round(statistics.median(transport), 2), "answer_s": round(statistics.median(answers), 2),
            "answered": f"{answered}/{rounds}"}
