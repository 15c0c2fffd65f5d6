"""The kit's fleet uplink: drains the store's uplink queue to the broker on a thread and a database
connection of its own, so a slow or dead link never holds up the SMS loop.

At-least-once, end to end: an event is published at QoS 1 and deleted from the queue only when the
broker's PUBACK for it arrives. A lost PUBACK or a restart republishes it; the cell keeps each event id
once. paho's network thread only hands PUBACK message ids over (a queue); this thread maps them to events
and deletes them, so no lock is ever held across a paho call.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from evy.downlink.receiver import open_downlink
from evy.errors import EvyError
from evy.fleet import events
from evy.fleet.link import connect_async, make_client
from evy.fleet.snapshots import health_snapshot, metrics_snapshot
from evy.store import Store, StoreCorrupt, uplink
from evy.store import health as store_health

if TYPE_CHECKING:
    from evy.config import Config
    from evy.downlink.receiver import Downlink
    from evy.fleet.handoff import Handoff, MeshPort

log = logging.getLogger("evy.fleet")

TICK = 0.2  # seconds the drain thread sleeps when there is nothing to do
MQTT_OVERHEAD = 6  # fixed header, topic length and packet id of a QoS 1 PUBLISH
STATUS_EVERY = 10.0  # seconds between link status records for `evy fleet status`


def kit_id(config: Config) -> str:
    if config["fleet.kit_id"]:
        return config["fleet.kit_id"]
    if config["mesh.node_id"] is not None:
        return f"kit-{config['mesh.node_id']:08x}"
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in socket.gethostname())[:64] or "kit"


class TokenBucket:
    """A bandwidth cap: ``rate`` bytes per second on average, bursts up to one second's worth (or one event)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic):
        self.rate, self.clock = rate, clock
        self.tokens, self.stamp = rate, clock()

    def wait_for(self, size: int) -> float:
        """Seconds to wait before ``size`` bytes may go (0: now; the bytes are then taken)."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        self.tokens = min(max(self.rate, size), self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        missing = size - self.tokens
        if missing > 1e-6 * self.rate:  # a rounding crumb must not ask for a wait too short to pass
            return max(missing / self.rate, 0.001)
        self.tokens -= size
        return 0.0


class Uplink:
    """Start with :meth:`start`, stop with :meth:`stop` (idempotent)."""

    def __init__(self, config: Config, store_path: Any, *, clock: Callable[[], float] = time.time,
                 downlink: Downlink | None = None):
        self.config, self.store_path, self.clock = config, store_path, clock
        self.downlink = downlink  # rides this connection (evy/downlink/receiver.py)
        self.kit = kit_id(config)
        self.connected = threading.Event()
        self.stop_event = threading.Event()
        # set by a PUBACK or a connect: the drain thread's idle wait ends at once, so a full in-flight window
        # refills on its acknowledgements, not on the next tick (else at most max_in_flight per TICK)
        self._wake = threading.Event()
        self.published = self.acked = 0
        self.last_ack_at: float | None = None
        self.last_error: str | None = None
        self._acks: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._mid_seq: dict[int, int] = {}
        self._in_flight: dict[int, float] = {}  # seq -> monotonic time of its (last) publish
        self._bucket = TokenBucket(config["fleet.max_bytes_per_second"])
        self._thread: threading.Thread | None = None
        self._client: Any = None
        self._next_health = self._next_metrics = 0.0
        self._next_status = 0.0
        self.handoff: Handoff | None = None

    def attach_mesh(self, mesh: MeshPort) -> None:
        """Hand events to mesh neighbours while this kit's link is down, and relay theirs while it is up
        (fleet.handoff); the kit's beacons then report its link as a backhaul."""
        if self.config["fleet.handoff"]:
            from evy.fleet.handoff import Handoff  # the mesh's code: only on a kit that joined the mesh

            self.handoff = Handoff(self.kit, mesh, self.config)
            mesh.backhaul = self.connected.is_set

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> None:
        self._client = make_client(self.config, self.kit)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        if self.downlink is not None:
            self.downlink.attach(self._client)
        connect_async(self._client, self.config)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, name="evy-fleet", daemon=True)
        self._thread.start()
        log.info("fleet uplink: kit %s to %s:%d", self.kit, self.config["fleet.broker_host"],
                 self.config["fleet.broker_port"])

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    # -- paho callbacks (its network thread): hand over, never block -----------------------------------
    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, *rest: Any) -> None:
        if rc == 0:
            self.connected.set()
            self._wake.set()
            self.last_error = None
            log.info("fleet broker connected (session present: %s)", _flag(flags, "session present"))
            if self.downlink is not None:
                self.downlink.subscribe(client)
        else:
            self.last_error = f"broker refused the connection: {rc}"
            log.warning("fleet broker refused the connection: %s", rc)

    def _on_disconnect(self, client: Any, userdata: Any, *rest: Any) -> None:
        if self.connected.is_set():
            log.info("fleet broker link lost; events stay queued")
        self.connected.clear()

    def _on_publish(self, client: Any, userdata: Any, mid: int, *rest: Any) -> None:
        self._acks.put(mid)
        self._wake.set()

    # -- the drain thread --------------------------------------------------------------------------------
    def _run(self) -> None:
        store = None
        while not self.stop_event.is_set():
            try:
                if store is None:
                    store = Store.open(self.store_path)
                self._wake.clear()
                if not self.turn(store):
                    self._wake.wait(TICK)
            except StoreCorrupt as exc:  # the agent's loop moves the file aside; reopen after it did
                log.warning("fleet uplink: %s; reopening the store", exc)
                store = _closed(store)
                self.stop_event.wait(5.0)
            except (EvyError, OSError) as exc:
                self.last_error = str(exc)
                log.warning("fleet uplink: %s; retrying", exc)
                self.stop_event.wait(5.0)
        self._settle(store)
        _closed(store)

    def turn(self, store: Store) -> bool:
        """One pass: record PUBACKs, queue due snapshots, publish what the cap and in-flight limit allow.
        True when it published or recorded anything (the next pass comes at once)."""
        busy = self._settle(store)
        now = self.clock()
        self._queue_snapshots(store, now)
        if now >= self._next_status:
            self._next_status = now + STATUS_EVERY
            store_health.record(store, "fleet", self.status(), None, now)
        if self.handoff is not None:
            busy |= self.handoff.turn(store, self.connected.is_set(), self._publish_relayed)
        if not self.connected.is_set():
            return busy
        self._forget_unanswered()
        room = self.config["fleet.max_in_flight"] - len(self._in_flight)
        if room <= 0:
            return busy
        for event in uplink.next_batch(store, skip=self._in_flight, limit=room):
            payload = events.encode_stored(self.kit, event.seq, event.type, event.at, event.priority, event.data)
            topic = events.topic_for(self.kit, event.topic)
            wait = self._bucket.wait_for(len(payload) + len(topic) + MQTT_OVERHEAD)
            if wait > 0:
                self.stop_event.wait(min(wait, 1.0))
                return True
            info = self._client.publish(topic, payload, qos=1)
            if info.rc != 0:  # not connected after all: try again next pass
                return busy
            self._mid_seq[info.mid] = event.seq
            self._in_flight[event.seq] = time.monotonic()
            self.published += 1
            busy = True
        return busy

    def _settle(self, store: Store | None) -> bool:
        seqs = []
        relayed = False
        while True:
            try:
                mid = self._acks.get_nowait()
            except queue.Empty:
                break
            seq = self._mid_seq.pop(mid, None)
            if seq is not None:
                seqs.append(seq)
                self._in_flight.pop(seq, None)
            elif self.handoff is not None and self.handoff.acknowledged(mid):
                relayed = True
        if seqs and store is not None:
            uplink.acknowledged(store, seqs)
            self.acked += len(seqs)
            self.last_ack_at = self.clock()
        return bool(seqs) or relayed

    def _publish_relayed(self, topic: str, payload: bytes) -> int | None:
        """Publish a mesh neighbour's event (its PUBACK goes back to the neighbour, see Handoff)."""
        info = self._client.publish(topic, payload, qos=1)
        return info.mid if info.rc == 0 else None

    def _forget_unanswered(self) -> None:
        """An event without PUBACK long after a reconnect is published again (a duplicate at worst): paho
        resends its in-flight messages itself, this only covers a session the broker lost."""
        limit = time.monotonic() - max(30.0, 2.0 * self.config["fleet.keepalive"])
        stale = {seq for seq, sent in self._in_flight.items() if sent < limit}
        if stale:
            for mid in [mid for mid, seq in self._mid_seq.items() if seq in stale]:
                del self._mid_seq[mid]
            for seq in stale:
                del self._in_flight[seq]

    def _queue_snapshots(self, store: Store, now: float) -> None:
        if now >= self._next_health:
            self._next_health = now + self.config["fleet.health_interval"]
            uplink.queue_snapshot(store, "health", health_snapshot(store, self.config, now), now)
        if now >= self._next_metrics:
            self._next_metrics = now + self.config["fleet.metrics_interval"]
            uplink.queue_snapshot(store, "metrics", metrics_snapshot(store, now), now)

    def status(self) -> dict[str, Any]:
        return {"kit": self.kit, "broker": f"{self.config['fleet.broker_host']}:{self.config['fleet.broker_port']}",
                "connected": self.connected.is_set(), "published": self.published, "acked": self.acked,
                "in_flight": len(self._in_flight), "last_ack_at": self.last_ack_at, "last_error": self.last_error,
                "downlink": None if self.downlink is None else self.downlink.status(),
                **({"handed_off": self.handoff.handed_off, "handoff_confirmed": self.handoff.confirmed,
                    "relayed_for_neighbours": self.handoff.relayed} if self.handoff is not None else {})}


def _flag(flags: Any, name: str) -> Any:
    return flags.get(name) if isinstance(flags, dict) else getattr(flags, "session_present", None)


def _closed(store: Store | None) -> None:
    if store is not None:
        store.close()


def start_fleet_uplink(config: Config, store: Store, mesh: MeshPort | None = None) -> Uplink | None:
    """The agent's one fleet hook: mirror fleet.enabled into the store (the triggers queue only while it is
    on) and start the uplink thread (with the kit's mesh link: hand-off both ways); None while the fleet is
    off. A broken fleet setup is logged, never fatal: the kit answers SMS without a backhaul."""
    uplink.set_enabled(store, config["fleet.enabled"])
    if not config["fleet.enabled"]:
        return None
    link = Uplink(config, store.path, downlink=open_downlink(config, store.path, kit_id(config)))
    if mesh is not None:
        link.attach_mesh(mesh)
    try:
        link.start()
    except EvyError as exc:
        log.error("fleet uplink not started: %s; events stay queued", exc)
        return None
    return link
