import random

import pytest

from evy.mesh.dutycycle import REGIONS, WINDOW_S, AirtimeLedger, max_window_airtime, region
from evy.mesh.errors import DutyCycleExceeded, MeshError

G2 = region("EU868").band(869.525)  # 10 %
G = region("EU868").band(868.1)  # 1 %


def test_eu868_sub_bands():
    assert G2.duty_cycle == 0.10 and G.duty_cycle == 0.01
    assert region("eu868").band(868.8).duty_cycle == 0.001
    with pytest.raises(MeshError, match="outside"):
        region("EU868").band(915.0)
    with pytest.raises(MeshError, match="unknown region"):
        region("XX")
    assert {"EU868", "US915", "EU433", "AS923", "AU915"} <= set(REGIONS)


def test_routine_stops_at_half_emergency_may_use_the_rest():
    ledger = AirtimeLedger(G)  # 36 s per hour
    now = 0.0
    while ledger.may_send(now, 1.0, emergency=False):
        ledger.record(now, 1.0)
        now += 2.0
    assert ledger.used_s(now) == pytest.approx(18.0)
    with pytest.raises(DutyCycleExceeded, match="routine"):
        ledger.check(now, 1.0, emergency=False)
    while ledger.may_send(now, 1.0, emergency=True):
        ledger.record(now, 1.0)
        now += 2.0
    assert ledger.used_s(now) == pytest.approx(36.0)
    assert ledger.wait_s(now, 1.0, emergency=True) > 0
    # The first transmission leaves the window an hour after it ended.
    assert ledger.may_send(3601.0 + 0.01, 1.0, emergency=True)


def test_dwell_time_limits_single_frames():
    ledger = AirtimeLedger(region("US915").band(915.0))
    ledger.check(0, 0.39, emergency=False)
    with pytest.raises(DutyCycleExceeded, match="dwell"):
        ledger.check(0, 0.41, emergency=True)


@pytest.mark.parametrize("seed", range(5))
def test_legal_limit_never_exceeded_in_any_window_on_a_virtual_clock(seed):
    rng = random.Random(seed)
    ledger = AirtimeLedger(G)
    sent, now = [], 0.0
    while now < 4 * WINDOW_S:
        airtime, emergency = rng.uniform(0.05, 2.5), rng.random() < 0.3
        wait = ledger.wait_s(now, airtime, emergency)
        if wait == 0:
            ledger.record(now, airtime)
            sent.append((now, airtime))
            now += airtime
        now += rng.expovariate(1 / 5)
    assert max_window_airtime(sent) <= G.duty_cycle * WINDOW_S + 1e-6
    # Brute force over many window positions agrees with the exact figure.
    brute = max(sum(max(0.0, min(s + d, t) - max(s, t - WINDOW_S)) for s, d in sent)
                for t in [x * 10.0 for x in range(int(now / 10) + 1)])
    assert brute <= max_window_airtime(sent) + 1e-6


def test_wait_is_exactly_when_space_frees_up():
    ledger = AirtimeLedger(G)
    ledger.record(0.0, 18.0)
    wait = ledger.wait_s(20.0, 1.0, emergency=False)
    assert wait == pytest.approx(WINDOW_S + 18.0 - 1.0 - 20.0, abs=1e-6)
    assert ledger.may_send(20.0 + wait, 1.0, emergency=False)


def test_ledger_persists_across_restarts(tmp_path):
    path = tmp_path / "airtime.json"
    ledger = AirtimeLedger(G, path)
    ledger.record(1000.0, 17.5)
    again = AirtimeLedger(G, path)
    assert not again.may_send(1100.0, 1.0, emergency=False)
    path.write_text("not json")
    with pytest.raises(MeshError, match="unreadable"):
        AirtimeLedger(G, path)


def test_a_clock_going_back_does_not_free_airtime():
    ledger = AirtimeLedger(G)
    ledger.record(10_000.0, 17.5)
    assert not ledger.may_send(5_000.0, 1.0, emergency=False)  # the clock jumped back by 5000 s
    assert ledger.may_send(5_000.0 + WINDOW_S, 1.0, emergency=False)
