"""The cell's database on both backends (SQLite, and a real PostgreSQL the tests start): each event stored
once whatever the order and however often it comes, the board the same for any arrival order, one person's
cases linked across kits by number, stale kits listed, and no event a kit sends can make a write fail."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evy.fleet.events import Event
from evy.hq.db import HqDatabase


def case_event(kit, seq, type_, case, sender, status="new", priority=3, at=None, **data):
    return Event(kit, seq, "cases", type_, at or float(seq), priority,
                 {"case": case, "sender": sender, "opened_at": 1.0, "status": status, "priority": priority,
                  "emergency": priority <= 1, **data})


def history(kit="kit-a", sender="+254700000001", case=1):
    return [
        case_event(kit, 1, "case.opened", case, sender),
        Event(kit, 2, "cases", "message.in", 2.0, 3, {"case": case, "sender": sender, "message": 1,
                                                      "text": "fire near the school", "received_at": 2.0}),
        case_event(kit, 3, "case.updated", case, sender, "new", 0, category="fire"),
        Event(kit, 4, "cases", "message.out", 4.0, 0, {"case": case, "recipient": sender, "outbox": 1,
                                                       "kind": "reply", "text": "Call 112", "state": "sent",
                                                       "sent_at": 4.0}),
        case_event(kit, 5, "case.location", case, sender, "new", 0, category="fire", location="Lodwar market"),
        case_event(kit, 6, "case.status", case, sender, "dispatched", 0, category="fire", location="Lodwar market"),
        Event(kit, 7, "health", "health", 7.0, 4, {"status": "ok", "attention": []}),
    ]


def board(database):
    return [(c.kit, c.case_id, c.status, c.priority, c.category, c.location, c.messages_in, c.messages_out)
            for c in database.board()]


ANY_FIXTURE = [HealthCheck.function_scoped_fixture]  # hq_location makes a fresh database per example


@settings(deadline=None, max_examples=60, suppress_health_check=ANY_FIXTURE)
@given(st.permutations(history()), st.lists(st.integers(0, 6), max_size=10))
def test_any_arrival_order_with_duplicates_gives_the_same_board_and_each_event_once(hq_location, order, repeats):
    with HqDatabase(hq_location()) as database:
        arrivals = list(order) + [order[i] for i in repeats]
        stored = [database.ingest(event, 100.0) for event in arrivals]
        assert stored.count(True) == 7 and stored[7:] == [False] * len(repeats)
        assert database.counts()["events"] == 7
        assert board(database) == [("kit-a", 1, "dispatched", 0, "fire", "Lodwar market", 1, 1)]
        assert database.kits(100.0, 3600)[0]["health"] == {"status": "ok", "attention": []}


def test_the_same_sender_on_two_kits_is_one_person(hq_location):
    with HqDatabase(hq_location()) as database:
        for event in history("kit-a", "+254711111111", 4) + history("kit-b", "+254711111111", 9):
            database.ingest(event, 100.0)
        database.ingest(case_event("kit-b", 8, "case.opened", 10, "+254722222222"), 100.0)
        assert [(c.kit, c.case_id) for c in database.linked("+254711111111")] == [("kit-a", 4), ("kit-b", 9)]
        assert database.people_on_several_kits() == [{"sender": "+254711111111", "kits": 2, "cases": 2}]


def test_a_kit_silent_longer_than_stale_after_is_stale(hq_location):
    with HqDatabase(hq_location()) as database:
        database.ingest(case_event("kit-a", 1, "case.opened", 1, "+254700000001"), 1000.0)
        database.ingest(case_event("kit-b", 1, "case.opened", 1, "+254700000002"), 5000.0)
        kits = database.kits(now=8000.0, stale_after=3600.0)
        assert [(k["kit"], k["stale"]) for k in kits] == [("kit-a", True), ("kit-b", False)]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=4)
FIELDS = ("case", "sender", "recipient", "opened_at", "status", "language", "category", "topic", "priority",
          "emergency", "location", "lat", "lon", "people", "text")


@settings(deadline=None, max_examples=80, suppress_health_check=ANY_FIXTURE)
@given(st.sampled_from(["case.opened", "case.updated", "case.location", "message.in", "message.out"]),
       st.fixed_dictionaries({}, optional={name: JSON_VALUES for name in FIELDS}))
def test_any_event_a_kit_sends_is_stored_and_the_board_keeps_only_values_that_fit(hq_location, type_, data):
    """A write that fails is retried for ever (the broker redelivers), so no field value may make one fail:
    a list for a sender, a lone surrogate or a NUL in a text, a number beyond 64 bits, a case that is no id."""
    with HqDatabase(hq_location()) as database:
        assert database.ingest(Event("kit-a", 1, "cases", type_, 1.0, 3, data), 1.0)
        assert database.ingest(Event("kit-a", 2, "cases", "case.updated", 2.0, 3,
                                     {**data, "case": 10**7, "sender": "+2547\x00\ud800"}), 2.0)
        case = database.case("kit-a", 10**7)
        assert case.sender == "+2547?" and 0 <= case.priority <= 9
        assert case.lat is None or (-90 <= case.lat <= 90 and math.isfinite(case.lat))
        assert database.counts()["events"] == 2


def test_an_event_stored_under_one_backend_reads_back_the_same(hq_location):
    event = case_event("kit-a", 2**62, "case.opened", 2**40, "+254700000009", "new", 1, at=1765100000.123456,
                       lat=-1.2921, lon=36.8219, people=4, location="Lodwar", category="fire")
    with HqDatabase(hq_location()) as database:
        assert database.ingest(event, 1765100001.5)
        (case,) = database.board()
        assert (case.case_id, case.lat, case.lon, case.people, case.emergency) == (2**40, -1.2921, 36.8219, 4, True)
        assert database.timings() == [("kit-a", "cases", 1765100000.123456, 1765100001.5)]
        assert not database.ingest(event, 1765100002.0)


def test_a_postgresql_connection_the_server_dropped_fails_one_statement_and_the_next_connects_again(postgres_url):
    import psycopg

    with HqDatabase(postgres_url()) as database:
        database.ingest(case_event("kit-a", 1, "case.opened", 1, "+254700000001"), 10.0)
        pid = database.sql.scalar("SELECT pg_backend_pid()")
        with psycopg.connect(postgres_url(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        try:
            database.ingest(case_event("kit-a", 2, "case.status", 1, "+254700000001", "acknowledged"), 11.0)
        except psycopg.OperationalError:
            assert database.ingest(case_event("kit-a", 2, "case.status", 1, "+254700000001", "acknowledged"), 11.0)
        assert database.sql.scalar("SELECT pg_backend_pid()") != pid
        assert [c.status for c in database.board()] == ["acknowledged"]


def test_a_database_made_before_the_cell_kept_the_relay_gains_the_column_and_keeps_its_events(hq_location):
    location = hq_location()
    with HqDatabase(location) as database:
        database.ingest(history()[0], 1.0)
        database.sql.execute("ALTER TABLE events DROP COLUMN via")  # as an older cell made it
    with HqDatabase(location) as database:
        relayed = Event("kit-a", 2, "cases", "message.in", 2.0, 3, {"case": 1, "sender": "+1", "text": "x"},
                        via="kit-b")
        assert database.ingest(relayed, 2.0)
        assert database.event_ids() == {"kit-a:1", "kit-a:2"}
        assert database.case_relays("kit-a", 1) == ["kit-b"]
        assert [item["via"] for item in database.thread("kit-a", 1)] == ["kit-b"]
