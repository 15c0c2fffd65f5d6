"""LoRa mesh figures: frame seal/open microseconds, reference airtimes, and the simulator's delivery ratio
and cost (5-node line at 20 % loss, target ≥ 0.95; 12-node grid at 10 % loss), medians over seeds."""

from __future__ import annotations

import statistics

from evy.bench import median_us
from evy.mesh import frames
from evy.mesh.airtime import Modulation
from evy.mesh.frames import Frame, Header, Kind, Priority
from evy.mesh.keys import NetworkKey
from evy.mesh.messages import SmsRelay, encode
from evy.mesh.simulator import SimConfig, Simulation

LINE_TARGET = 0.95


def _frame_figures(repeats: int, inner: int) -> dict:
    key = NetworkKey.from_secret(bytes(range(1, 17)))
    figures = {}
    for name, body in (("sms_100", encode(SmsRelay("+254700000001", "x" * 84))), ("max", bytes(frames.MAX_BODY))):
        header = Header(Kind.SMS_RELAY, 0xE5000002, 0xE5000001, 77, 3, 3, True, Priority.ROUTINE, key.network_id)
        frame = Frame(header, 1, 0, 1, body)
        raw = frames.seal(frame, key)
        figures[f"frame_{name}_bytes"] = len(raw)
        figures[f"frame_{name}_encode_us"] = median_us(lambda f=frame: frames.seal(f, key), repeats, inner)
        figures[f"frame_{name}_decode_us"] = median_us(lambda r=raw: frames.open_frame(r, key), repeats, inner)
    figures["header_parse_us"] = median_us(lambda: frames.parse_header(raw), repeats, inner)
    return figures


def _airtimes() -> dict:
    cases = {
        "sf7_bw125_50B": (Modulation(7, 125_000, 5, 8), 50),
        "sf12_bw125_50B": (Modulation(12, 125_000, 5, 8), 50),
        "evy_default_sf9_bw125_50B": (Modulation(), 50),
        "evy_default_sf9_bw125_255B": (Modulation(), 255),
        "longfast_sf11_bw250_50B": (Modulation(11, 250_000, 5, 16), 50),
    }
    return {f"airtime_{name}_s": round(m.time_on_air(n), 6) for name, (m, n) in cases.items()}


def _sim(seeds: range, **config) -> dict:
    runs = [Simulation(SimConfig(seed=seed, **config)).run() for seed in seeds]
    ratio = [r["delivery_ratio"] for r in runs]
    per = [r["transmissions_per_delivered"] for r in runs if r["transmissions_per_delivered"]]
    per_message = [r["message_transmissions_per_delivered"] for r in runs if r["message_transmissions_per_delivered"]]
    return {
        "delivery_ratio_median": round(statistics.median(ratio), 4), "delivery_ratio_min": min(ratio),
        "delivery_ratio_in_reach_median": round(statistics.median(r["delivery_ratio_in_reach"] for r in runs), 4),
        "latency_s_median": round(statistics.median(r["latency_s_median"] for r in runs), 2),
        "transmissions_per_delivered_median": round(statistics.median(per), 2),
        "message_transmissions_per_delivered_median": round(statistics.median(per_message), 2),
        "airtime_s_median": round(statistics.median(r["airtime_s"] for r in runs), 2),
        "max_duty_cycle": max(r["max_duty_cycle"] for r in runs),
        "duplicate_deliveries": sum(r["duplicate_deliveries"] for r in runs),
        "wall_s_median": round(statistics.median(r["wall_time_s"] for r in runs), 3), "seeds": len(runs),
    }


def run(quick: bool) -> dict:
    repeats, inner = (5, 50) if quick else (21, 500)
    seeds = range(1, 4) if quick else range(1, 11)
    figures: dict[str, object] = {"repeats": repeats, "inner": inner}
    figures.update(_frame_figures(repeats, inner))
    figures.update(_airtimes())
    line = _sim(seeds, nodes=5, topology="line", loss=0.2, messages=40)
    figures.update({f"line5_loss20_{k}": v for k, v in line.items()})
    figures["line5_loss20_target"] = LINE_TARGET
    figures["line5_loss20_meets_target"] = line["delivery_ratio_median"] >= LINE_TARGET
    grid = _sim(seeds, nodes=12, topology="grid", loss=0.1, messages=40)
    figures.update({f"grid12_loss10_{k}": v for k, v in grid.items()})
    return figures
