"""The cell through a real Mosquitto (TLS, a login per client). The downlink outbox: a send to a group
reaches each member's topic, is marked published on the broker's PUBACK, and a send made while the broker is
away is kept and published when it is back; the cell's ingest ignores its own downlink (it sees it on
evy/v1/+/#). And `evy hq run` on a real PostgreSQL stores each event a kit publishes once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from evy.config import parse
from evy.downlink.envelope import decode
from evy.downlink.keys import load_pinned, verifies
from evy.downlink.send import Signer
from evy.fleet import events
from evy.fleet.broker import LocalBroker
from evy.fleet.link import connect_async, make_client
from evy.hq import groups, outbox
from evy.hq.db import HqDatabase
from evy.hq.service import Cell

from .conftest import publish_raw

ROOT = Path(__file__).parents[2]


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return found


class Listener:
    """A kit-side client subscribed to every downlink topic, keeping what arrives."""

    def __init__(self, broker: LocalBroker):
        self.received: list[tuple[str, dict]] = []
        self.raw: dict[str, bytes] = {}  # the last message on each topic as it came
        self.ready = threading.Event()
        self.client = make_client(parse("").replace(**broker.settings("kit-a")), "kit-a-listener")
        self.client.on_connect = lambda client, *_: client.subscribe("evy/v1/+/down/#", qos=1)
        self.client.on_subscribe = lambda *_: self.ready.set()
        self.client.on_message = lambda client, userdata, message: self._keep(message.topic, bytes(message.payload))
        connect_async(self.client, parse("").replace(**broker.settings("kit-a")))
        self.client.loop_start()
        assert self.ready.wait(10), "the listener did not subscribe"

    def _keep(self, topic: str, payload: bytes) -> None:
        self.raw[topic] = payload
        self.received.append((topic, json.loads(payload)))

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish_as(broker: LocalBroker, kit: str, published: list[events.Event]) -> None:
    """Publish a kit's events at QoS 1 as the kit's uplink does, and wait for every PUBACK."""
    publish_raw(broker, kit, [(events.topic_for(kit, event.topic), events.encode(event)) for event in published],
                client_id=kit)


def signed_by(body: dict, key_path: Path):
    """The envelope a kit would accept: decoded and verified against the pinned public key."""
    envelope = decode(json.dumps(body).encode())
    assert verifies(envelope, load_pinned(f"{key_path}.pub")[envelope.signer]), "signed with the cell's key"
    return envelope


def test_a_send_without_a_signing_key_is_refused_and_records_nothing(tmp_path):
    with HqDatabase(tmp_path / "hq.sqlite") as database:
        with pytest.raises(outbox.OutboxError, match="no signing key"):
            outbox.send(database, None, "broadcast", "all", {"text": "x", "audience": "subscribers"}, signer=None,
                        requested_by="operator")
        assert outbox.unpublished(database) == [] and outbox.recent(database) == []


def test_a_send_to_a_group_reaches_each_kit_signed_and_is_marked_published(tmp_path, broker, signing_key):
    config = parse("").replace(**broker.settings("evy-hq"))
    listener = Listener(broker)
    with HqDatabase(tmp_path / "hq.sqlite") as database:
        publisher = outbox.Publisher(config, database)
        publisher.start()
        try:
            assert publisher.connected.wait(10)
            groups.add(database, "north", ["kit-a", "kit-b"])
            sent = outbox.send(database, publisher, "broadcast", "group:north",
                               {"text": "Water at the school from 14:00", "audience": "subscribers"},
                               signer=Signer.load(signing_key), requested_by="operator", key="k1")
            wait_for(lambda: len(listener.received) == 2, 10, "both kits' messages")
            assert sorted(topic for topic, _ in listener.received) == ["evy/v1/kit-a/down/broadcast",
                                                                        "evy/v1/kit-b/down/broadcast"]
            received = {topic: signed_by(body, signing_key) for topic, body in listener.received}
            envelope = received["evy/v1/kit-a/down/broadcast"]
            assert (envelope.kind, envelope.target, envelope.payload) == (
                "broadcast", "kit:kit-a", {"text": "Water at the school from 14:00", "audience": "subscribers"})
            assert received["evy/v1/kit-b/down/broadcast"].seq != envelope.seq, "each message its own number"
            assert sent.topics == sorted(received)
            wait_for(lambda: outbox.unpublished(database) == [], 10, "PUBACKs recorded")
        finally:
            publisher.stop()
            listener.stop()


def test_a_send_made_while_the_broker_is_away_is_published_when_it_is_back(tmp_path, broker, signing_key):
    config = parse("").replace(**broker.settings("evy-hq"))
    broker.stop()
    with HqDatabase(tmp_path / "hq.sqlite") as database:
        publisher = outbox.Publisher(config, database)
        publisher.start()
        try:
            sent = outbox.send(database, publisher, "localinfo", "all",
                               {"text": "Clinic open 8-16", "topic": "clinic", "hours": 24},
                               signer=Signer.load(signing_key), requested_by="operator")
            assert sent.topics == ["evy/v1/all/down/localinfo"]
            assert len(outbox.unpublished(database)) == 1
            broker.start()
            listener = Listener(broker)
            wait_for(lambda: outbox.unpublished(database) == [], 30, "the publish after the broker came back")
            wait_for(lambda: listener.received, 10, "the message at a kit")
            assert signed_by(listener.received[0][1], signing_key).payload["topic"] == "clinic"
            listener.stop()
        finally:
            publisher.stop()


def test_the_cell_ignores_its_own_downlink_on_its_subscription(tmp_path):
    with HqDatabase(tmp_path / "hq.sqlite") as database:
        cell = Cell(parse(""), database)
        cell.on_message(None, None, SimpleNamespace(topic="evy/v1/kit-a/down/broadcast", payload=b'{"v":1}'))
        cell.on_message(None, None, SimpleNamespace(topic="evy/v1/kit-a/gossip", payload=b"{}"))
        assert (cell.rejected, [row["topic"] for row in database.rejected()]) == (1, ["evy/v1/kit-a/gossip"])


def test_the_cell_on_postgresql_stores_each_event_a_kit_publishes_once(tmp_path, broker, postgres_url):
    from .conftest import cell_config_text, fleet_events

    url = postgres_url()
    config = tmp_path / "hq.toml"
    config.write_text(cell_config_text(broker, tmp_path, 'listen = ""\n').replace(
        f'database = "{tmp_path / "hq.sqlite"}"', f'database = "{url}"'))
    cell = subprocess.Popen([sys.executable, "-m", "evy", "hq", "run", "--config", str(config)], text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "agent")}, stderr=subprocess.PIPE)
    try:
        while "cell subscribed" not in (line := cell.stderr.readline()):
            assert line, "evy hq run exited before subscribing"
        sent = [event for event, _ in fleet_events(time.time()) if event.kit in ("kit-a", "kit-b")]
        for kit in ("kit-a", "kit-b"):
            publish_as(broker, kit, [event for event in sent if event.kit == kit])
        publish_as(broker, "kit-a", [event for event in sent if event.kit == "kit-a"])  # a republish after a cut

        def stored() -> int:
            with HqDatabase(url) as database:
                return database.counts()["events"]

        wait_for(lambda: stored() == len(sent), 20, "every event in PostgreSQL")
        time.sleep(1)  # the republished ones arrive and are dropped
        with HqDatabase(url) as database:
            assert database.event_ids() == {event.id for event in sent} and database.duplicates_stored() == 0
            assert [(c.kit, c.case_id) for c in database.linked("+254711000222")] == [("kit-a", 1), ("kit-b", 7)]
    finally:
        cell.terminate()
        cell.wait(10)
