"""`evy hq run` in a process of its own, fed through a real Mosquitto: an event the cell cannot apply is kept in
`rejected` and acknowledged, never retried for ever (one such event used to stop the fleet's ingest), while a
database that is truly down still ends the cell unacknowledged so the broker delivers the event again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from evy.fleet import events
from evy.fleet.broker import LocalBroker
from evy.hq.db import HqDatabase

from .conftest import LocalPostgres, cell_config_text, postgres_binaries, publish_raw
from .test_hq_outbox import wait_for

pytestmark = pytest.mark.timeout(180)
ROOT = Path(__file__).parents[2]
EXIT_STORE_FAILED = 75


def body(seq: int, type_: str, data: object, **changes: object) -> bytes:
    fields = {"v": 1, "id": f"kit-a:{seq}", "kit": "kit-a", "seq": seq, "type": type_, "at": 1765100000.5,
              "prio": 3, "data": data, **changes}
    return json.dumps(fields, separators=(",", ":")).encode()


class CellProcess:
    def __init__(self, broker: LocalBroker, directory: Path, database: Path | str):
        directory.mkdir(exist_ok=True)
        text = cell_config_text(broker, directory).replace(f'database = "{directory / "hq.sqlite"}"',
                                                           f'database = "{database}"')
        self.config = directory / "hq.toml"
        self.config.write_text(text)
        self.database = database
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "agent")}
        self.process = subprocess.Popen([sys.executable, "-m", "evy", "hq", "run", "--config", str(self.config)],
                                        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        while "cell subscribed" not in (line := self.process.stderr.readline()):
            assert line, "evy hq exited before subscribing"
        threading.Thread(target=self.process.stderr.read, daemon=True).start()  # keep the pipe drained

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)

    def counts(self) -> dict[str, int]:
        with HqDatabase(self.database) as database:
            return database.counts()

    def ids(self) -> set[str]:
        with HqDatabase(self.database) as database:
            return database.event_ids()


INCOMPLETE = [  # schema-valid v1 events whose data lacks what the board is built from
    ("cases", body(1, "case.opened", {"case": 1})),                          # no sender
    ("cases", body(2, "message.in", {"case": 2, "text": "help"})),          # no sender
    ("cases", body(3, "case.status", {})),                                   # no case
    ("cases", body(4, "case.updated", {"case": "seven", "sender": None, "priority": "high", "lat": "north"})),
    ("health", body(5, "health", {"status": None})),
]
UNREADABLE = [  # a time too large for a float, data nested deeper than a parser goes
    ("cases", body(6, "case.opened", {"case": 6, "sender": "+254700000006"}).replace(
        b'"at":1765100000.5', b'"at":1' + b"0" * 400)),
    ("cases", body(7, "case.opened", {}).replace(b'"data":{}', b'"data":{"deep":' + b"[" * 10**5
                                                 + b"]" * 10**5 + b"}")),
]


def test_incomplete_and_unreadable_events_are_rejected_and_acknowledged_and_ingest_goes_on(
        tmp_path, broker, hq_location):
    cell = CellProcess(broker, tmp_path / "hq", hq_location())
    cell.start()
    try:
        publish_raw(broker, "kit-a", [(events.topic_for("kit-a", topic), payload)
                                      for topic, payload in INCOMPLETE + UNREADABLE])
        publish_raw(broker, "kit-a", [("evy/v1/kit-a/cases", body(8, "case.opened", {"case": 8, "sender": "+1"}))])
        wait_for(lambda: "kit-a:8" in cell.ids() or cell.process.poll() is not None, 60, "the event after them")
        assert cell.process.poll() is None, "the cell stopped on an event it could not apply"
        assert cell.ids() == {f"kit-a:{seq}" for seq in (1, 2, 3, 4, 5, 8)}
        assert cell.counts()["rejected"] == len(UNREADABLE)
        with HqDatabase(cell.database) as database:
            assert {case.case_id: case.sender for case in database.board()} == {1: "", 2: "", 8: "+1"}
            reasons = [row["reason"] for row in database.rejected()]
        assert all("\n" not in reason and reason for reason in reasons), reasons
    finally:
        cell.stop()
    # acknowledged: a restarted cell is not handed any of them again
    cell.start()
    try:
        publish_raw(broker, "kit-a", [("evy/v1/kit-a/cases", body(9, "case.opened", {"case": 9, "sender": "+1"}))])
        wait_for(lambda: "kit-a:9" in cell.ids(), 60, "the event after the restart")
        assert cell.counts()["rejected"] == len(UNREADABLE)
    finally:
        cell.stop()


def test_a_database_that_is_down_ends_the_cell_unacknowledged_and_the_event_comes_again(tmp_path, broker):
    binaries = postgres_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL's initdb and pg_ctl are not installed (invoke setup)")
    pytest.importorskip("psycopg")
    server = LocalPostgres(binaries)  # a server of its own: this test stops it
    server.start()
    try:
        cell = CellProcess(broker, tmp_path / "hq", server.url())
        cell.start()
        publish_raw(broker, "kit-a", [("evy/v1/kit-a/cases", body(1, "case.opened", {"case": 1, "sender": "+1"}))])
        wait_for(lambda: "kit-a:1" in cell.ids(), 60, "the first event")
        server._run(str(binaries / "pg_ctl"), "-D", str(server.data), "-m", "fast", "-w", "stop")
        publish_raw(broker, "kit-a", [("evy/v1/kit-a/cases", body(2, "case.opened", {"case": 2, "sender": "+2"}))])
        assert cell.process.wait(60) == EXIT_STORE_FAILED
        options = f"-k {server.directory} -c listen_addresses='' -c fsync=off"
        server._run(str(binaries / "pg_ctl"), "-D", str(server.data), "-l", str(server.directory / "log"),
                    "-o", options, "-w", "-t", "60", "start")
        assert cell.counts()["rejected"] == 0 and cell.ids() == {"kit-a:1"}
        cell.start()  # as systemd would: the broker hands it the unacknowledged event again
        wait_for(lambda: "kit-a:2" in cell.ids(), 60, "the event that was not acknowledged")
        assert cell.counts()["rejected"] == 0
        cell.stop()
    finally:
        server.stop()


def test_an_event_relayed_over_the_mesh_is_stored_with_the_kit_that_relayed_it(tmp_path, broker, hq_location):
    cell = CellProcess(broker, tmp_path / "hq", hq_location())
    cell.start()
    try:
        publish_raw(broker, "kit-a", [
            ("evy/v1/kit-a/cases", body(1, "case.opened", {"case": 1, "sender": "+1"})),
            (events.relayed_topic_for("kit-a", "kit-r", "cases"),
             body(1, "message.in", {"case": 4, "sender": "+4", "text": "relayed"}).replace(
                 b"kit-a", b"kit-r"))])
        wait_for(lambda: cell.ids() == {"kit-a:1", "kit-r:1"}, 60, "both events")
        with HqDatabase(cell.database) as database:
            assert database.case_relays("kit-r", 4) == ["kit-a"] and database.case_relays("kit-a", 1) == []
            assert [item["via"] for item in database.thread("kit-r", 4)] == ["kit-a"]
    finally:
        cell.stop()


def refuse_category(location: Path | str, category: str) -> None:
    """A rule of the database's own (a site's constraint): a case row with this category is refused."""
    with HqDatabase(location) as database:
        if database.sql.postgres:
            database.sql.execute(f"ALTER TABLE cases ADD CONSTRAINT site_rule CHECK (category <> '{category}')")
        else:
            database.sql.execute(f"CREATE TRIGGER site_rule BEFORE INSERT ON cases WHEN NEW.category = '{category}'"
                                 " BEGIN SELECT RAISE(ABORT, 'refused by the site rule'); END")


def test_an_event_the_database_refuses_goes_to_rejected_and_leaves_nothing_behind(tmp_path, broker, hq_location):
    location = hq_location()
    refuse_category(location, "poison")
    cell = CellProcess(broker, tmp_path / "hq", location)
    cell.start()
    try:
        publish_raw(broker, "kit-a", [
            ("evy/v1/kit-a/cases", body(1, "case.opened", {"case": 1, "sender": "+1", "category": "poison"})),
            ("evy/v1/kit-a/cases", body(2, "case.opened", {"case": 2, "sender": "+2", "category": "water"}))])
        wait_for(lambda: "kit-a:2" in cell.ids() or cell.process.poll() is not None, 60, "the event after it")
        assert cell.process.poll() is None, "the cell stopped on an event the database refused"
        assert cell.ids() == {"kit-a:2"}  # the refused event's transaction left nothing
        with HqDatabase(location) as database:
            (rejected,) = database.rejected()
            assert [case.case_id for case in database.board()] == [2]
            assert [kit["events"] for kit in database.kits(0, 3600)] == [1]
        assert rejected["topic"] == "evy/v1/kit-a/cases"
        assert rejected["reason"].startswith("event kit-a:1 cannot be applied: ")
    finally:
        cell.stop()
    cell.start()  # acknowledged: not delivered again
    try:
        publish_raw(broker, "kit-a", [("evy/v1/kit-a/cases", body(3, "case.opened", {"case": 3, "sender": "+3"}))])
        wait_for(lambda: "kit-a:3" in cell.ids(), 60, "the event after the restart")
        assert cell.counts()["rejected"] == 1
    finally:
        cell.stop()


@pytest.fixture()
def small_disk(tmp_path):
    """A real 4 MiB tmpfs (needs root, as mounting does)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_ends_the_cell_unacknowledged_and_the_event_comes_again(tmp_path, broker, small_disk):
    cell = CellProcess(broker, tmp_path / "hq", small_disk / "hq.sqlite")
    cell.start()
    publish_raw(broker, "kit-a", [("evy/v1/kit-a/cases", body(1, "case.opened", {"case": 1, "sender": "+1"}))])
    wait_for(lambda: "kit-a:1" in cell.ids(), 60, "the first event")
    filler = small_disk / "filler"
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass  # the disk is full
    publish_raw(broker, "kit-a", [("evy/v1/kit-a/cases", body(2, "case.opened", {"case": 2, "sender": "+2"}))])
    assert cell.process.wait(60) == EXIT_STORE_FAILED
    filler.unlink()
    assert cell.ids() == {"kit-a:1"} and cell.counts()["rejected"] == 0  # not the event's fault: not rejected
    cell.start()
    try:
        wait_for(lambda: "kit-a:2" in cell.ids(), 60, "the event that was not acknowledged")
        assert cell.counts()["rejected"] == 0
    finally:
        cell.stop()
