"""What the cell sends down to kits: local information and broadcasts, to one kit, a group or all.

:func:`send` is the one way in: it records the request and one message per destination topic
(``evy/v1/<kit>/down/<kind>``, or ``evy/v1/all/down/<kind>`` for every kit) in the cell's database, in one
transaction, then the :class:`Publisher` publishes them at QoS 1 and marks each published on the broker's
PUBACK. A message without its PUBACK (the broker away, the console restarted) is published again on the next
connection; a kit applies each signed message once (the same sequence number again changes nothing, an older
one is refused as stale and reported), so a repeat is harmless.

:func:`envelope` signs what a kit receives with the cell's key (`evy.downlink`), at the time of the send: the
stored bytes are published unchanged, however late.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evy.errors import EvyError
from evy.fleet.events import KIT_ID, PREFIX
from evy.hq import groups
from evy.hq.db import HqDatabase

if TYPE_CHECKING:
    from evy.config import Config
    from evy.downlink.send import Signer

log = logging.getLogger("evy.hq.outbox")

KINDS = ("broadcast", "localinfo")
EVERY_KIT = "all"
AUDIENCES = ("subscribers", "recent", "open_cases")  # as the kit's broadcasts (evy.broadcast.send.Audience)
MAX_TEXT = 1600  # characters; the kit still refuses a broadcast over its broadcast.max_segments
MIN_VALID_HOURS = 0.1  # a fact that expires before a kit could get it is a mistake


class OutboxError(EvyError):
    """A send that cannot be made as asked (an unknown kind or target, an empty text, a group with no kit)."""


@dataclass(frozen=True)
class Sent:
    request: int
    topics: list[str]


def topic_for(destination: str, kind: str) -> str:
    return f"{PREFIX}/{destination}/down/{kind}"


def is_downlink(topic: str) -> bool:
    """A downlink topic (the cell's own, seen again on its `evy/v1/+/#` subscription)."""
    parts = topic.split("/")
    return len(parts) == 5 and parts[3] == "down"


def envelope(signer: Signer, kind: str, destination: str, payload: dict[str, Any], at: float) -> str:
    """The message a kit receives: the downlink's signed envelope for one destination (``all`` or a kit id),
    checked by the kit against the key pinned in its image."""
    from evy.downlink.envelope import encode

    target = EVERY_KIT if destination == EVERY_KIT else f"kit:{destination}"
    return encode(signer.seal(kind, target, payload, at)).decode("utf-8")


def destinations(database: HqDatabase, target: str) -> list[str]:
    """Topic levels a target reaches: ``all``, ``kit:<id>`` or ``group:<name>`` (one per member)."""
    if target == EVERY_KIT:
        return [EVERY_KIT]
    scope, _, name = target.partition(":")
    if scope == "kit" and KIT_ID.fullmatch(name) and name != EVERY_KIT:
        return [name]
    if scope == "group" and KIT_ID.fullmatch(name):
        found = groups.members(database, name)
        if not found:
            raise OutboxError(f"group {name!r} has no kits")
        return found
    raise OutboxError(f"send to {target[:80]!r}? choose all, kit:<id> or group:<name>")


def checked_payload(kind: str, payload: dict[str, Any], now: float) -> dict[str, Any]:
    """The payload as kits get it; OutboxError naming the first thing wrong."""
    text = str(payload.get("text", "")).replace("\r\n", "\n").strip()
    if not text:
        raise OutboxError("the text is empty")
    if len(text) > MAX_TEXT:
        raise OutboxError(f"the text has {len(text)} characters; at most {MAX_TEXT}")
    if kind == "broadcast":
        audience = payload.get("audience")
        if audience not in AUDIENCES:
            raise OutboxError(f"choose an audience: {', '.join(AUDIENCES)}")
        hours = payload.get("hours")
        if audience == "recent" and not (isinstance(hours, int | float) and 0 < hours <= 24 * 30):
            raise OutboxError("texted in the last how many hours? a number from 0 to 720")
        return {"text": text, "audience": audience, **({"hours": float(hours)} if audience == "recent" else {})}
    if kind == "localinfo":
        from evy.localinfo.answer import LANGUAGES_OF_FACTS
        from evy.localinfo.topics import TOPICS

        topic, language, hours = payload.get("topic"), payload.get("language", ""), payload.get("hours")
        if topic not in TOPICS:
            raise OutboxError(f"choose a topic: {', '.join(TOPICS)}")
        if language not in LANGUAGES_OF_FACTS:
            raise OutboxError(f"unknown language {language!r}")
        if not (isinstance(hours, int | float) and MIN_VALID_HOURS <= hours <= 24 * 365):
            raise OutboxError("valid for how many hours? a number from 0.1 to 8760")
        return {"topic": topic, "text": text, "language": language, "expires_at": round(now + hours * 3600, 3)}
    raise OutboxError(f"unknown kind {kind!r}; have {', '.join(KINDS)}")


def send(database: HqDatabase, publisher: Publisher | None, kind: str, target: str, payload: dict[str, Any], *,
         signer: Signer | None, requested_by: str, key: str | None = None, now: float | None = None) -> Sent | None:
    """Sign and record a send and hand it to the publisher; None when this ``key`` was sent before (a second
    click). Without a signing key nothing is recorded: kits refuse what is not signed."""
    if signer is None:
        raise OutboxError("no signing key: set downlink.signing_key (`evy hq keygen`); kits refuse unsigned messages")
    now = time.time() if now is None else now
    data = checked_payload(kind, payload, now)
    reach = destinations(database, target)
    sql = database.sql
    with sql.transaction():
        made = sql.rows("INSERT INTO downlink(key, kind, target, payload, requested_by, requested_at)"
                        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING RETURNING id",
                        (key, kind, target, json.dumps(data, ensure_ascii=False), requested_by, now))
        if not made:
            return None
        request = made[0]["id"]
        topics = [topic_for(destination, kind) for destination in reach]
        for destination, topic in zip(reach, topics, strict=True):
            sql.execute("INSERT INTO downlink_messages(request, topic, body) VALUES (?, ?, ?)",
                        (request, topic, envelope(signer, kind, destination, data, now)))
    if publisher is not None:
        publisher.flush()
    return Sent(request, topics)


def unpublished(database: HqDatabase) -> list[dict[str, Any]]:
    return database.sql.rows("SELECT request, topic, body FROM downlink_messages WHERE published_at IS NULL"
                             " ORDER BY request, topic")


def mark_published(database: HqDatabase, request: int, topic: str, at: float) -> None:
    database.sql.execute("UPDATE downlink_messages SET published_at = ? WHERE request = ? AND topic = ?"
                         " AND published_at IS NULL", (at, request, topic))


def recent(database: HqDatabase, limit: int = 30) -> list[dict[str, Any]]:
    """The latest requests, newest first, each with its messages (topic, published_at)."""
    rows = database.sql.rows(
        "SELECT d.id, d.kind, d.target, d.payload, d.requested_by, d.requested_at, m.topic, m.body, m.published_at"
        " FROM downlink d JOIN downlink_messages m ON m.request = d.id"
        " WHERE d.id IN (SELECT id FROM downlink ORDER BY id DESC LIMIT ?) ORDER BY d.id DESC, m.topic", (limit,))
    found: dict[int, dict[str, Any]] = {}
    for row in rows:
        item = found.setdefault(row["id"], {
            "id": row["id"], "kind": row["kind"], "target": row["target"], "payload": json.loads(row["payload"]),
            "requested_by": row["requested_by"], "requested_at": row["requested_at"], "messages": []})
        item["messages"].append({"topic": row["topic"], "published_at": row["published_at"],
                                 "digest": hashlib.sha256(row["body"].encode()).hexdigest()})
    sent = list(found.values())
    if sent:
        _add_outcomes(database, sent, since=min(item["requested_at"] for item in sent))
    return sent


def _add_outcomes(database: HqDatabase, sent: list[dict[str, Any]], since: float) -> None:
    """Each message's ``kits``: per kit it was for, what the kit made of it (applied with what changed,
    refused with why) or ``waiting``. A message to every kit is for every kit the cell knows. Kits report
    by the sha256 of the raw message, which ties a report to the very message the cell sent."""
    reported: dict[str, dict[str, dict[str, Any]]] = {}
    for outcome in database.downlink_outcomes_since(since):
        if isinstance(outcome.get("digest"), str):
            reported.setdefault(outcome["digest"], {})[outcome["kit"]] = outcome  # the latest per kit
    known = database.kit_names()
    for item in sent:
        for message in item["messages"]:
            destination = message["topic"].split("/")[2]
            heard = reported.get(message["digest"], {})
            expected = sorted(set(known) | set(heard)) if destination == EVERY_KIT else [destination]
            message["kits"] = [
                {"kit": kit, "outcome": heard[kit]["outcome"], "reason": heard[kit].get("reason") or "",
                 "at": heard[kit]["at"]} if kit in heard else {"kit": kit, "outcome": "waiting", "reason": "",
                                                                "at": None}
                for kit in expected]


class Publisher:
    """The console's own MQTT connection (client id ``<hq.client_id>-console``) publishing the outbox."""

    def __init__(self, config: Config, database: HqDatabase):
        self.config, self.database = config, database
        self.connected = threading.Event()
        self.client: Any = None
        self._lock = threading.Lock()
        self._flushing = threading.Lock()  # one flush at a time, or two could publish the same message
        self._in_flight: dict[int, tuple[int, str]] = {}  # paho message id → (request, topic)
        self._early: set[int] = set()  # PUBACKs that came before publish() returned its id

    def start(self) -> None:
        from evy.fleet.link import connect_async, make_client

        self.client = make_client(self.config, f"{self.config['hq.client_id']}-console")
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *_: self.connected.clear()
        self.client.on_publish = self._on_publish
        connect_async(self.client, self.config)
        self.client.loop_start()

    def stop(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, *rest: Any) -> None:
        if rc != 0:
            log.warning("broker refused the console's connection: %s", rc)
            return
        self.connected.set()
        threading.Thread(target=self.flush, name="evy-hq-outbox", daemon=True).start()

    def _on_publish(self, client: Any, userdata: Any, mid: int, *rest: Any) -> None:
        with self._lock:
            sent = self._in_flight.pop(mid, None)
            if sent is None:
                self._early.add(mid)
                return
        mark_published(self.database, *sent, time.time())

    def flush(self) -> int:
        """Publish every message not yet acknowledged and not in flight now; how many were handed to paho."""
        if self.client is None or not self.connected.is_set():
            return 0
        with self._flushing:
            return self._flush()

    def _flush(self) -> int:
        with self._lock:
            busy = set(self._in_flight.values())
        handed = 0
        for row in unpublished(self.database):
            sent = (row["request"], row["topic"])
            if sent in busy:
                continue
            info = self.client.publish(row["topic"], row["body"].encode(), qos=1)
            with self._lock:
                if info.mid in self._early:
                    self._early.discard(info.mid)
                    acknowledged = True
                else:
                    self._in_flight[info.mid] = sent
                    acknowledged = False
            if acknowledged:
                mark_published(self.database, *sent, time.time())
            handed += 1
        return handed
