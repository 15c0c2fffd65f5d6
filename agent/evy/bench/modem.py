"""Modem driver benchmark: the AT driver on the simulated SIM800 over a real pty, one operation at a time.

- open_ms: probe + initialise (AT, ATE0, CMEE, CPIN?, CMGF, CPMS, CNMI, CSCA?, ATI, heartbeat);
- event_ms: a message stored by the simulator (+CMTI written) → ``wait_events`` returns it;
- read_delete_ms: ``read`` (AT+CMGR) + ``delete`` (AT+CMGD) of that message;
- send_ms: ``send`` of one part (AT+CMGS, the ``>`` prompt, PDU, +CMGS).
Both processes share this interpreter, so the figures include the simulator's own work.
"""

from __future__ import annotations

import statistics
import time

from evy.sms import pdu
from evy.sms.at_modem import AtModem
from evy.sms.modem import ModemSettings, NewMessage
from evy.sms.simulator import ModemSimulator


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median": round(statistics.median(ordered), 3), "p95": round(p95, 3), "n": len(ordered)}


def run(quick: bool) -> dict:
    rounds = 30 if quick else 200
    opens, events, reads, sends = [], [], [], []
    part = pdu.encode_submit("+254733000999", "Go to the school on the hill")[0]
    with ModemSimulator(storage_size=30) as simulator:
        settings = ModemSettings(port=simulator.port, profile="sim800", command_timeout=2.0, heartbeat=3600)
        for _ in range(3 if quick else 10):
            modem = AtModem(settings)
            started = time.perf_counter()
            modem.open()
            opens.append((time.perf_counter() - started) * 1000)
            modem.close()
        with AtModem(settings) as modem:
            for index in range(rounds):
                started = time.perf_counter()
                simulator.deliver("+254711000111", f"need help {index}")
                got: list = []
                while not got:
                    got = [e for e in modem.wait_events(1.0) if isinstance(e, NewMessage)]
                events.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                stored = modem.read(got[0].location)
                modem.delete(stored.location)
                reads.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                modem.send(part)
                sends.append((time.perf_counter() - started) * 1000)
    return {"open_ms": _summary(opens), "event_ms": _summary(events), "read_delete_ms": _summary(reads),
            "send_ms": _summary(sends)}
