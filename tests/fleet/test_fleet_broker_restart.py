"""The scale run's lost events, in a bounded form: a backlog of thousands of events queued for the stopped
cell, the cell back and draining it, the broker restarted (SIGTERM) three times in the middle of the drain
while a second kit keeps publishing. Every event reaches the cell exactly once.

Before the fix the TLS connection closing under a client that was writing (the cell sends a PUBACK for every
message it drains) raised ssl.SSLEOFError inside paho 1.6's network thread, which catches only
ConnectionError there: the thread died, the process lived on without a connection and never reconnected,
and the broker kept the backlog for a cell that never came back (docs/fleet.md, "Scale run")."""

from __future__ import annotations

import signal

import pytest

from evy.store import Store, sample, uplink

from .conftest import wait_for
from .test_fleet_processes import check_exactly_once, kit_process, wait_until_drained_to

pytestmark = pytest.mark.timeout(240)

BACKLOG_CASES = 450  # about 3,000 case events
RESTARTS = 3


def test_a_backlog_for_the_cell_survives_broker_restarts_in_the_middle_of_its_drain(tmp_path, broker, cell):
    cell.kill(signal.SIGTERM)
    backlog_dir, backlog_kit = kit_process(tmp_path, broker, "kit-a", "--cases", str(BACKLOG_CASES), "--seed", "7")
    assert backlog_kit.stdout.readline().strip() == f"generated {BACKLOG_CASES}"
    assert backlog_kit.stdout.readline().strip() == "drained"  # all of it acknowledged, held for the cell
    with Store.open(backlog_dir / "evy.db") as store:
        backlog = sample.conversation_events(store)
    assert backlog > 2500

    live_dir, live_kit = kit_process(tmp_path, broker, "kit-b", "--cases", "40", "--every", "0.25", "--seed", "8")
    cell.start()
    for restart in range(1, RESTARTS + 1):
        wait_for(lambda n=restart: len(cell.ids("kit-a")) >= n * backlog // (RESTARTS + 2), timeout=60,
                 what=f"the cell draining before restart {restart}")
        broker.restart()
    assert len(cell.ids("kit-a")) < backlog, "the drain ended before the last restart: nothing was tested"

    def cell_alive_and(condition):
        assert cell.process.poll() is None, cell.process.stderr.read()
        return condition()

    wait_for(lambda: cell_alive_and(lambda: len(cell.ids("kit-a")) >= backlog), timeout=90,
             what="the whole backlog at the cell (is its network thread still alive?)")
    assert live_kit.stdout.readline().strip() == "generated 40"
    assert live_kit.stdout.readline().strip() == "drained"
    for kit in (backlog_kit, live_kit):
        kit.send_signal(signal.SIGTERM)
        kit.wait(10)
    wait_until_drained_to(cell, live_dir, "kit-b")
    check_exactly_once(cell, backlog_dir, "kit-a")
    check_exactly_once(cell, live_dir, "kit-b")
    with Store.open(live_dir / "evy.db") as store:
        assert uplink.depth(store)["queued"] == 0
