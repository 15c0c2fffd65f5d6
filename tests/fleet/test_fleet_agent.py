"""The real agent (pty modem simulator) with its fleet uplink, through a real Mosquitto, to `evy hq` in a
process of its own: SMS handled while the broker is down reach the cell once it is back, each event once;
the same person texting two kits is one person at the cell."""

from __future__ import annotations

import pytest

from evy.fleet.uplink import start_fleet_uplink
from evy.pipeline.kit import SimulatedKit
from evy.store import Store, uplink

from .conftest import wait_for

pytestmark = pytest.mark.timeout(180)
BASE = 'country = "KE"\n[brain]\nfollowup = false\n'
PHONE = "+254711000001"


def fleet_kit(broker, kit: str) -> SimulatedKit:
    return SimulatedKit(BASE, fleet__enabled=True, fleet__kit_id=kit, fleet__keepalive=5,
                        fleet__health_interval=30.0, **broker.settings(kit))


def queued(kit: SimulatedKit) -> int:
    with Store.open(kit.data_dir / "evy.db") as store:
        return uplink.depth(store)["queued"]


def test_sms_handled_while_the_broker_is_down_reach_the_cell_once_it_is_back(broker, cell):
    with fleet_kit(broker, "kit-a") as kit, Store.open(kit.data_dir / "evy.db") as own:
        link = start_fleet_uplink(kit.config, own)
        assert link is not None
        try:
            kit.sim.deliver(PHONE, "help my child is not breathing")
            kit.replies(1, timeout=30)
            wait_for(lambda: any(i for i in cell.ids("kit-a")) and queued(kit) == 0, what="the first events")
            broker.stop()  # the backhaul is gone
            wait_for(lambda: not link.connected.is_set(), what="the kit to notice")
            kit.sim.deliver(PHONE, "we are at Lodwar market near the mosque")
            kit.replies(2, timeout=30)
            wait_for(lambda: queued(kit) >= 2, what="events queued while the link is down")
            stored_while_down = len(cell.ids("kit-a"))
            broker.start()
            wait_for(lambda: queued(kit) == 0, timeout=60, what="the kit to drain")
        finally:
            link.stop()
    def case_types() -> list[str]:
        with cell.database() as database:
            return [row["type"] for row in database.sql.rows(
                "SELECT type FROM events WHERE kit = 'kit-a' AND topic = 'cases'")]

    # The broker acknowledged everything; the cell takes the backlog at its own pace.
    wait_for(lambda: len(cell.ids("kit-a")) > stored_while_down and case_types().count("message.in") == 2
             and case_types().count("message.out") == 2, what="the cell to get them")
    with cell.database() as database:
        rows = database.sql.rows("SELECT id, type FROM events WHERE kit = 'kit-a' AND topic = 'cases'")
        assert len(rows) == len({row["id"] for row in rows})
        types = [row["type"] for row in rows]
        assert types.count("message.in") == 2 and types.count("message.out") == 2 and "case.opened" in types
        [case] = database.board()
        assert (case.sender, case.emergency, case.messages_in, case.messages_out) == (PHONE, True, 2, 2)
        assert case.location and "Lodwar" in case.location
        assert [text["text"] for text in database.thread("kit-a", case.case_id) if text["direction"] == "in"] == [
            "help my child is not breathing", "we are at Lodwar market near the mosque"]
        health = database.kits(0, 3600)[0]["health"]
        assert health["status"] in ("ok", "degraded", "down") and "uplink" in health


def test_the_same_person_texting_two_kits_is_one_person_at_the_cell(broker, cell):
    with fleet_kit(broker, "kit-a") as kit_a, fleet_kit(broker, "kit-b") as kit_b, \
            Store.open(kit_a.data_dir / "evy.db") as own_a, Store.open(kit_b.data_dir / "evy.db") as own_b:
        links = [start_fleet_uplink(kit_a.config, own_a), start_fleet_uplink(kit_b.config, own_b)]
        try:
            kit_a.sim.deliver(PHONE, "fire in the house")
            kit_b.sim.deliver(PHONE, "the fire is spreading to the school")
            kit_a.replies(1, timeout=30)
            kit_b.replies(1, timeout=30)
            wait_for(lambda: queued(kit_a) == 0 and queued(kit_b) == 0, what="both kits to drain")
        finally:
            for link in links:
                link.stop()
    def linked():
        with cell.database() as database:
            return sorted((c.kit, c.messages_in) for c in database.linked(PHONE))
    # The two kits answer in parallel: either case may open first.
    wait_for(lambda: linked() == [("kit-a", 1), ("kit-b", 1)], what="both cases at the cell")
    with cell.database() as database:
        assert database.people_on_several_kits() == [{"sender": PHONE, "kits": 2, "cases": 2}]
