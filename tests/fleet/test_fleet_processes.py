"""Kits and the coordination cell as real processes through a real Mosquitto: a kit SIGKILLed mid-drain, the
broker restarted, the cell SIGKILLed mid-ingest; every event reaches the cell's database exactly once."""

from __future__ import annotations

import signal

import pytest

from evy.store import Store, sample, uplink

from .conftest import evy_process, wait_for, write_config

pytestmark = pytest.mark.timeout(180)


def kit_process(tmp_path, broker, kit: str, *args: str, extra: str = ""):
    data_dir = tmp_path / kit
    data_dir.mkdir(exist_ok=True)
    config = write_config(data_dir / "kit.toml", broker, kit, data_dir, extra)
    return data_dir, evy_process("-m", "evy.fleet.simkit", "--config", str(config), *args)


def check_exactly_once(cell, data_dir, kit: str) -> None:
    """The cell holds every case event the kit made, each once. A health or metrics snapshot still unsent
    when a newer one was queued was replaced (by design), so its number may be missing: nothing else may."""
    with Store.open(data_dir / "evy.db") as store:
        assert uplink.depth(store)["queued"] == 0
        last = uplink.last_seq(store)
        case_events = sample.conversation_events(store)
    with cell.database() as database:
        rows = database.sql.rows("SELECT id, seq, topic FROM events WHERE kit = ?", (kit,))
    assert len(rows) == len({row["id"] for row in rows})
    assert {row["seq"] for row in rows} <= set(range(1, last + 1))
    assert sum(row["topic"] == "cases" for row in rows) == case_events
    assert {row["topic"] for row in rows} == {"cases", "health", "metrics"}
    assert last - len(rows) <= 4  # at most one health and one metrics snapshot replaced per restart


def wait_until_drained_to(cell, data_dir, kit: str) -> None:
    """Until the cell holds as many case events as the kit made (the broker may redeliver what was in flight
    to a killed cell after newer events) and the kit's last event."""
    with Store.open(data_dir / "evy.db") as store:
        last, made = uplink.last_seq(store), sample.conversation_events(store)

    def arrived() -> bool:
        with cell.database() as database:
            rows = database.sql.rows("SELECT seq, topic FROM events WHERE kit = ?", (kit,))
        return sum(row["topic"] == "cases" for row in rows) >= made and max(row["seq"] for row in rows) >= last

    wait_for(lambda: cell.ids(kit) and arrived(), timeout=60, what="every case event at the cell")


def test_a_kit_killed_mid_drain_and_a_restarted_broker_lose_nothing_and_store_nothing_twice(tmp_path, broker, cell):
    # a cap of 6 kB/s makes the drain take seconds, so the kill lands in the middle of it
    data_dir, kit = kit_process(tmp_path, broker, "kit-a", "--cases", "40", "--seed", "3",
                                extra="max_bytes_per_second = 6000")
    assert kit.stdout.readline().strip() == "generated 40"
    wait_for(lambda: len(cell.ids("kit-a")) >= 40, what="the first events at the cell")
    kit.send_signal(signal.SIGKILL)
    kit.wait(10)
    stored_before = len(cell.ids("kit-a"))
    with Store.open(data_dir / "evy.db") as store:
        assert uplink.depth(store)["queued"] > 0, "the kill came after the drain: nothing was tested"
    broker.restart()  # SIGTERM: Mosquitto saves the cell's session and what it holds for it
    _, again = kit_process(tmp_path, broker, "kit-a", "--until-drained")
    assert again.wait(120) == 0, again.stderr.read()
    wait_until_drained_to(cell, data_dir, "kit-a")
    assert stored_before < len(cell.ids("kit-a"))
    check_exactly_once(cell, data_dir, "kit-a")
    with cell.database() as database:
        assert database.counts()["cases"] == 40 and database.counts()["rejected"] == 0


def test_the_cell_killed_mid_ingest_gets_everything_after_its_restart(tmp_path, broker, cell):
    data_dir, kit = kit_process(tmp_path, broker, "kit-b", "--cases", "60", "--every", "0.02", "--seed", "5")
    wait_for(lambda: len(cell.ids("kit-b")) >= 20, what="the first events at the cell")
    cell.kill(signal.SIGKILL)
    assert kit.stdout.readline().strip() == "generated 60"
    assert kit.stdout.readline().strip() == "drained"  # the broker holds the rest for the cell's session
    kit.send_signal(signal.SIGTERM)
    kit.wait(10)
    with Store.open(data_dir / "evy.db") as store:
        assert len(cell.ids("kit-b")) < uplink.last_seq(store)
    cell.start()
    wait_until_drained_to(cell, data_dir, "kit-b")
    check_exactly_once(cell, data_dir, "kit-b")
