"""The fleet wire format: what the kit encodes decodes to the same event and matches docs/fleet-schema.json;
anything else is a one-line BadEvent, never another exception."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evy.fleet import events
from evy.fleet.events import BadEvent, Event

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "fleet-schema.json").read_text())
kits = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
texts = st.text(max_size=200)
numbers = st.floats(min_value=0, max_value=4e9, allow_nan=False)


def case_data(draw_type):
    return st.fixed_dictionaries({
        "case": st.integers(1, 10**9), "sender": texts, "opened_at": numbers,
        "status": st.sampled_from(["new", "acknowledged", "dispatched", "resolved", "closed"]),
        "priority": st.integers(0, 5), "emergency": st.booleans(), "category": st.none() | texts,
        "lat": st.none() | st.floats(-90, 90), "lon": st.none() | st.floats(-180, 180)})


DATA = {
    **{t: case_data(t) for t in ("case.opened", "case.updated", "case.status", "case.location")},
    "message.in": st.fixed_dictionaries({"case": st.integers(1, 10**9), "sender": texts,
                                         "message": st.integers(1, 10**9), "text": texts, "received_at": numbers}),
    "message.out": st.fixed_dictionaries({"case": st.none() | st.integers(1), "recipient": texts,
                                          "outbox": st.integers(1), "kind": st.sampled_from(["reply", "followup"]),
                                          "text": texts, "state": st.sampled_from(["sent", "relayed"]),
                                          "sent_at": numbers}),
    "health": st.fixed_dictionaries({"status": st.sampled_from(["ok", "degraded", "down"]), "attention": st.just([])}),
    "metrics": st.fixed_dictionaries({"received": st.just([]), "sent": st.integers(0), "cases_by_status": st.just({})}),
    **{t: st.fixed_dictionaries({"topic": texts, "signer": st.none() | st.from_regex(r"[0-9a-f]{16}", fullmatch=True),
                                 "seq": st.none() | st.integers(1, 2**63 - 1),
                                 "kind": st.none() | st.sampled_from(["localinfo", "broadcast", "protocols"]),
                                 "target": st.none() | texts, "reason": texts,
                                 "digest": st.from_regex(r"[0-9a-f]{64}", fullmatch=True)})
       for t in ("downlink.applied", "downlink.refused")},
}


@st.composite
def fleet_events(draw):
    type_ = draw(st.sampled_from(events.TYPES))
    topic = events.TOPIC_OF[type_]
    return Event(draw(kits), draw(st.integers(1, 2**53)), topic, type_, draw(numbers), draw(st.integers(0, 9)),
                 draw(DATA[type_]))


@settings(deadline=None)  # jsonschema on a busy machine
@given(fleet_events())
def test_an_event_round_trips_and_matches_the_published_schema(event):
    payload = events.encode(event)
    assert events.decode(events.topic_for(event.kit, event.topic), payload) == event
    jsonschema.validate(json.loads(payload), SCHEMA)
    stored = json.dumps(event.data, separators=(",", ":"), ensure_ascii=False)  # as SQLite's json_object writes it
    assert events.encode_stored(event.kit, event.seq, event.type, event.at, event.priority, stored) == payload


@given(st.text(max_size=80), st.binary(max_size=300))
def test_any_message_either_decodes_or_is_a_bad_event(topic, payload):
    try:
        events.decode(topic, payload)
    except BadEvent as exc:
        assert "\n" not in str(exc)


@pytest.mark.parametrize(("topic", "body", "complaint"), [
    ("evy/v1/kit-1/cases/x", {}, "is not evy/v1/<kit>/<topic>"),
    ("evy/v1/kit+1/cases", {}, "kit id"),
    ("evy/v1/kit-1/gossip", {}, "unknown topic"),
    ("evy/v1/kit-1/cases", {"v": 2}, "version 2"),
    ("evy/v1/kit-1/cases", {"v": 1, "kit": "kit-2"}, "differs from the topic"),
    ("evy/v1/kit-1/cases", {"v": 1, "kit": "kit-1", "seq": 0}, "seq 0"),
    ("evy/v1/kit-1/cases", {"v": 1, "kit": "kit-1", "seq": 2**63}, "seq 9223372036854775808"),
    ("evy/v1/kit-1/cases", {"v": 1, "kit": "kit-1", "seq": 3, "id": "kit-1:4"}, "is not kit-1:3"),
    ("evy/v1/kit-1/cases", {"v": 1, "kit": "kit-1", "seq": 3, "id": "kit-1:3", "type": "health"}, "does not belong"),
    ("evy/v1/kit-1/health", {"v": 1, "kit": "kit-1", "seq": 3, "id": "kit-1:3", "type": "health", "at": 1,
                              "prio": 4, "data": []}, "data is not"),
])
def test_a_bad_event_names_what_is_wrong(topic, body, complaint):
    with pytest.raises(BadEvent, match=complaint.replace("+", r"\+").replace("<", ".").replace(">", ".")):
        events.decode(topic, json.dumps(body).encode())


@pytest.mark.parametrize(("payload", "complaint"), [
    (b'{"v":1,"id":"kit-1:3","kit":"kit-1","seq":3,"type":"health","at":1' + b"0" * 400 + b',"prio":4,"data":{}}',
     "is not a time"),
    (b'{"v":1,"data":' + b"[" * 10**5 + b"]" * 10**5 + b"}", "nested too deep"),
])
def test_a_time_beyond_a_float_or_json_nested_too_deep_is_a_bad_event(payload, complaint):
    with pytest.raises(BadEvent, match=complaint):
        events.decode("evy/v1/kit-1/health", payload)


@settings(deadline=None)
@given(fleet_events(), kits)
def test_an_event_relayed_by_a_neighbour_decodes_to_the_origin_with_the_relay_as_via(event, relay):
    topic = events.relayed_topic_for(relay, event.kit, event.topic)
    if relay == event.kit:
        with pytest.raises(BadEvent, match="relays only other kits"):
            events.decode(topic, events.encode(event))
        return
    relayed = events.decode(topic, events.encode(event))
    assert relayed == Event(event.kit, event.seq, event.topic, event.type, event.at, event.priority, event.data,
                            via=relay)
    assert relayed.id == event.id  # the cell keeps it once, whichever way it came


@pytest.mark.parametrize("topic", ["evy/v1/kit-b/relayed/kit-a", "evy/v1/kit-b/forwarded/kit-a/cases",
                                   "evy/v1/kit-b/relayed/kit+a/cases", "evy/v1/kit-b/relayed/kit-a/cases/x"])
def test_a_malformed_relayed_topic_is_one_line_bad_event(topic):
    event = Event("kit-a", 1, "cases", "case.opened", 1.0, 1, {"case": 1})
    with pytest.raises(BadEvent):
        events.decode(topic, events.encode(event))
