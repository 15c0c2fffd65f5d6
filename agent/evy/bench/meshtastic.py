"""Meshtastic gateway benchmark: the agent in-process (SimulatedKit) with the twin node on a pty, driven by
the real `meshtastic` library.

- attach_s: from the agent's start to the node attached (the library's config handshake included);
- first_part_ms / whole_reply_ms: a direct message injected at the node → the first part / the last part of
  its reply handed back to the node (the twin acknowledges at once, so this is the kit's own time);
- parts: direct messages per reply at the default 200-byte limit.
"""

from __future__ import annotations

import re
import statistics
import time

_NUMBER = re.compile(r"^\((\d+)/(\d+)\) ")

TEXTS = ["help the water is rising fast", "my child has a fever and is vomiting", "we are 5 people, no food",
         "fire near the market", "he is not breathing"]


def run(quick: bool) -> dict:
    from evy.meshtastic.twin import MeshtasticTwin
    from evy.pipeline.kit import SimulatedKit

    rounds = 1 if quick else 3
    first, whole, parts = [], [], []
    with MeshtasticTwin() as twin:
        started = time.perf_counter()
        base = 'country = "KE"\n[brain]\nfollowup = false\n'
        with SimulatedKit(base, meshtastic__enabled=True, meshtastic__port=twin.port) as kit:
            while not kit.agent.meshtastic.connected:
                time.sleep(0.01)
            attach_s = time.perf_counter() - started
            for n in range(rounds * len(TEXTS)):
                node = 0xA1000000 + n
                twin.add_node(node)
                sent_before = len(twin.delivered)
                t0 = time.perf_counter()
                twin.direct(node, TEXTS[n % len(TEXTS)])
                twin.wait_for(lambda before=sent_before: len(twin.delivered) > before, timeout=60)
                first.append(time.perf_counter() - t0)
                twin.wait_for(lambda node=node: _whole(twin.texts_to(node)), timeout=60)
                whole.append(time.perf_counter() - t0)
                parts.append(len(twin.texts_to(node)))
    return {"attach_s": round(attach_s, 2), "first_part_ms_median": round(statistics.median(first) * 1000, 1),
            "whole_reply_ms_median": round(statistics.median(whole) * 1000, 1),
            "whole_reply_ms_max": round(max(whole) * 1000, 1), "parts_median": statistics.median(parts),
            "replies": len(whole)}


def _whole(texts: list[str]) -> bool:
    """The last part shown is the last of its reply: ``(n/n) `` or an unnumbered single message."""
    match = _NUMBER.match(texts[-1]) if texts else None
    return bool(texts) and (match is None or match.group(1) == match.group(2))
