"""The cell's downlink outbox through a real Mosquitto (TLS, a login per client): a send to a group reaches
each member's topic, is marked published on the broker's PUBACK, and a send made while the broker is away is
kept and published when it is back. The cell's ingest ignores its own downlink (it sees it on evy/v1/+/#)."""

from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace

import pytest

from evy.config import parse
from evy.fleet.broker import LocalBroker, mosquitto_binary
from evy.fleet.link import connect_async, make_client
from evy.hq import groups, outbox
from evy.hq.db import HqDatabase
from evy.hq.service import Cell

LOGINS = {"evy-hq": "pw-hq", "kit-a": "pw-a"}


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return found


@pytest.fixture()
def broker(tmp_path):
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (invoke setup)")
    with LocalBroker(tmp_path / "broker", logins=LOGINS) as running:
        yield running


class Listener:
    """A kit-side client subscribed to every downlink topic, keeping what arrives."""

    def __init__(self, broker: LocalBroker):
        self.received: list[tuple[str, dict]] = []
        self.ready = threading.Event()
        self.client = make_client(parse("").replace(**broker.settings("kit-a")), "kit-a-listener")
        self.client.on_connect = lambda client, *_: client.subscribe("evy/v1/+/down/#", qos=1)
        self.client.on_subscribe = lambda *_: self.ready.set()
        self.client.on_message = lambda client, userdata, message: self.received.append(
            (message.topic, json.loads(message.payload)))
        connect_async(self.client, parse("").replace(**broker.settings("kit-a")))
        self.client.loop_start()
        assert self.ready.wait(10), "the listener did not subscribe"

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_a_send_to_a_group_reaches_each_kit_and_is_marked_published(tmp_path, broker):
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
                               requested_by="operator", key="k1")
            wait_for(lambda: len(listener.received) == 2, 10, "both kits' messages")
            assert sorted(topic for topic, _ in listener.received) == ["evy/v1/kit-a/down/broadcast",
                                                                        "evy/v1/kit-b/down/broadcast"]
            body = dict(listener.received)["evy/v1/kit-a/down/broadcast"]
            assert (body["id"], body["kind"], body["kit"], body["data"]) == (
                f"hq:{sent.request}", "broadcast", "kit-a",
                {"text": "Water at the school from 14:00", "audience": "subscribers"})
            wait_for(lambda: outbox.unpublished(database) == [], 10, "PUBACKs recorded")
        finally:
            publisher.stop()
            listener.stop()


def test_a_send_made_while_the_broker_is_away_is_published_when_it_is_back(tmp_path, broker):
    config = parse("").replace(**broker.settings("evy-hq"))
    broker.stop()
    with HqDatabase(tmp_path / "hq.sqlite") as database:
        publisher = outbox.Publisher(config, database)
        publisher.start()
        try:
            sent = outbox.send(database, publisher, "localinfo", "all",
                               {"text": "Clinic open 8-16", "topic": "clinic", "hours": 24},
                               requested_by="operator")
            assert sent.topics == ["evy/v1/all/down/localinfo"]
            assert len(outbox.unpublished(database)) == 1
            broker.start()
            listener = Listener(broker)
            wait_for(lambda: outbox.unpublished(database) == [], 30, "the publish after the broker came back")
            wait_for(lambda: listener.received, 10, "the message at a kit")
            assert listener.received[0][1]["data"]["topic"] == "clinic"
            listener.stop()
        finally:
            publisher.stop()


def test_the_cell_ignores_its_own_downlink_on_its_subscription(tmp_path):
    with HqDatabase(tmp_path / "hq.sqlite") as database:
        cell = Cell(parse(""), database)
        cell.on_message(None, None, SimpleNamespace(topic="evy/v1/kit-a/down/broadcast", payload=b'{"v":1}'))
        cell.on_message(None, None, SimpleNamespace(topic="evy/v1/kit-a/gossip", payload=b"{}"))
        assert (cell.rejected, [row["topic"] for row in database.rejected()]) == (1, ["evy/v1/kit-a/gossip"])
