"""The kit's Meshtastic node, driven with the official ``meshtastic`` package.

Threads: the library reads the node on its own thread and publishes packets on pubsub's thread; this module
only turns them into events on a queue. A connector thread opens the node (``SerialInterface`` or
``TCPInterface``) and opens it again with backoff whenever it is lost (unplugged, reset, meshtasticd
restarted). The agent's thread alone touches the store: :meth:`receive` stores received texts and records
ACKs, :meth:`send` hands queued parts to the node. So a node that vanishes never stops the agent, and a reply
waits in the outbox (no attempt spent) until a node is there to take it.

A part is marked ``sending`` durably before it is handed over and ``sent`` on the recipient's ACK; a crash,
a reset or a missing ACK sends it again with the same packet id, which the receiving node's firmware shows
once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from meshtastic.mesh_interface import MeshInterface
from pubsub import pub

from evy.config import Config
from evy.crash import crashpoint
from evy.meshtastic.address import BROADCAST_ID, node_id
from evy.meshtastic.trust import Trust, classify
from evy.store import Store, health, outbox
from evy.store import meshtastic as node_outbox

log = logging.getLogger("evy.meshtastic")

BACKLOG_GAP = 0.3  # s: the node hands its queue over back to back; its radio cannot hear two packets this close
AWAY_HOLD = 3600.0  # replies wait this long (again and again) while no node is attached; released on reconnect
OPEN_TIMEOUT = 30  # seconds the library may take for the config handshake


def open_interface(config: Config) -> Any:
    """The library's interface to the configured node (blocks through the config handshake)."""
    if config["meshtastic.connection"] == "tcp":
        from meshtastic.tcp_interface import TCPInterface

        return TCPInterface(config["meshtastic.host"], portNumber=config["meshtastic.tcp_port"],
                            timeout=OPEN_TIMEOUT)
    from meshtastic.serial_interface import SerialInterface

    return SerialInterface(config["meshtastic.port"], timeout=OPEN_TIMEOUT)


class MeshtasticGateway:
    def __init__(self, config: Config, opener: Callable[[Config], Any] = open_interface):
        self.config = config
        self._opener = opener
        self._events: queue.Queue[tuple] = queue.Queue()
        self._interface: Any = None
        self._opening = False  # the connector is inside the library's constructor (the handshake)
        self._retired: weakref.WeakSet = weakref.WeakSet()  # interfaces closed: what they still publish is stale
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = False  # as the agent's thread last learnt it
        self.last_error = ""
        self._backlog_open = False  # counting what the node kept for the kit, handed over after the handshake
        self._backlog_packets = 0
        self._backlog_texts = 0
        self._last_packet_at = 0.0

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> None:
        pub.subscribe(self._on_receive, "meshtastic.receive")
        pub.subscribe(self._on_lost, "meshtastic.connection.lost")
        self._thread = threading.Thread(target=self._keep_connected, name="evy-meshtastic", daemon=True)
        self._thread.start()

    def close(self, store: Store | None = None) -> None:
        """Let the node go (the library tells it ``disconnect``, so it keeps what arrives for the next
        client), then commit what it had already handed over."""
        self._stop.set()
        self._lost.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if store is not None:
            self.receive(store)
        for listener, topic in ((self._on_receive, "meshtastic.receive"),
                                (self._on_lost, "meshtastic.connection.lost")):
            if pub.isSubscribed(listener, topic):
                pub.unsubscribe(listener, topic)

    def _keep_connected(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            self._backlog_packets = self._backlog_texts = 0
            self._last_packet_at = time.monotonic()
            self._backlog_open = self._opening = True
            try:
                interface = self._opener(self.config)
            except Exception as exc:  # absent, busy, silent: every failure of the library means "not yet"
                self._opening = False
                self._events.put(("down", f"node not reachable: {exc}"))
                self._stop.wait(delay)
                delay = min(delay * 2, self.config["meshtastic.reconnect_max"])
                continue
            delay = 1.0
            self._lost.clear()
            self._interface = interface
            self._opening = False
            self._events.put(("up", node_id(interface.myInfo.my_node_num)))
            while not self._lost.wait(BACKLOG_GAP) and time.monotonic() - self._last_packet_at < BACKLOG_GAP:
                pass  # the node is still handing over what it kept
            self._backlog_open = False
            self._events.put(("backlog", self._backlog_packets, self._backlog_texts))
            self._lost.wait()
            self._interface = None
            self._retired.add(interface)
            self._close_quietly(interface)
            if not self._stop.is_set():
                self._events.put(("down", "the node went away (unplugged or reset)"))

    @staticmethod
    def _close_quietly(interface: Any) -> None:
        try:
            interface.close()
        except Exception as exc:  # a port already gone cannot be closed cleanly; nothing is lost
            log.debug("closing the lost node: %s", exc)

    # -- pubsub's thread -------------------------------------------------------------------------------
    def _mine(self, interface: Any) -> bool:
        """The current interface, or the one being opened: the node hands over what it kept for its client
        right after the handshake, before the library's constructor has returned it to us."""
        if interface is self._interface:
            return True
        return self._opening and self._interface is None and interface not in self._retired

    def _on_lost(self, interface: Any, **_: Any) -> None:
        if interface is self._interface:
            self._lost.set()

    def _on_receive(self, packet: dict, interface: Any, **_: Any) -> None:
        own = getattr(getattr(interface, "myInfo", None), "my_node_num", None)
        if own is None or not self._mine(interface):
            return
        decoded = packet.get("decoded") or {}
        sender = packet.get("from", 0)
        if sender == own and decoded.get("portnum") != "ROUTING_APP":
            return
        portnum = decoded.get("portnum")
        if self._backlog_open and not (portnum == "ROUTING_APP" and decoded.get("requestId")):
            # ACKs of the kit's own replies may come back within the gap: never counted as kept
            self._last_packet_at = time.monotonic()
            self._backlog_packets += 1
            self._backlog_texts += portnum == "TEXT_MESSAGE_APP"
        if portnum == "ROUTING_APP" and decoded.get("requestId"):
            reason = (decoded.get("routing") or {}).get("errorReason", "NONE")
            self._events.put(("routing", decoded["requestId"], node_id(sender), reason))
        elif portnum == "TEXT_MESSAGE_APP":
            self._on_text(packet, decoded, own)

    def _on_text(self, packet: dict, decoded: dict, own: int) -> None:
        to_kit = packet.get("to") == own
        if not to_kit and (not self.config["meshtastic.answer_channel"]
                           or packet.get("channel", 0) != self.config["meshtastic.channel"]
                           or packet.get("to") != 0xFFFFFFFF):
            return
        trust = classify(to_kit=to_kit, pki_encrypted=bool(packet.get("pkiEncrypted")),
                         public_key=packet.get("publicKey", ""), operator_keys=self.config["meshtastic.operator_keys"])
        text = decoded.get("payload", b"").decode("utf-8", "replace").strip()
        if text:
            self._events.put(("text", node_id(packet["from"]), packet.get("id", 0), text, trust))

    # -- the agent's thread ----------------------------------------------------------------------------
    def receive(self, store: Store) -> int:
        """Store what the node delivered and record ACKs; returns how many texts were stored."""
        stored = 0
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                return stored
            match event:
                case ("text", sender, packet_id, text, Trust() as trust):
                    crashpoint("after_receive")
                    if node_outbox.add_text(store, sender=sender, packet_id=packet_id, text=text,
                                            trust_encoding=trust.encoding):
                        stored += 1
                        log.info("Meshtastic message from %s (%s)", sender, trust)
                    crashpoint("after_store")
                case ("routing", packet_id, sender, "NONE"):
                    node_outbox.acknowledged(store, packet_id, sender)
                case ("routing", packet_id, _sender, reason):
                    self._refused(store, packet_id, f"not delivered over Meshtastic: {reason}")
                case ("up", own_id):
                    self.connected, self.last_error = True, ""
                    node_outbox.unacknowledged_to_pending(store)
                    node_outbox.release(store)
                    log.info("Meshtastic node %s attached", own_id)
                case ("backlog", packets, texts):
                    self._backlog(store, packets, texts)
                case ("down", reason):
                    if self.connected or reason != self.last_error:
                        log.warning("Meshtastic: %s", reason)
                    self.connected, self.last_error = False, reason
                    node_outbox.unacknowledged_to_pending(store)
                    node_outbox.hold(store, time.time() + AWAY_HOLD, reason)

    def _backlog(self, store: Store, packets: int, texts: int) -> None:
        """What the node kept for the kit while no client was reading. A full queue means it discarded
        packets (the oldest, to make room for texts): how many, and from whom, the kit cannot know."""
        if not packets:
            return
        health.bump(store, "meshtastic_backlog", "packets", packets)
        health.bump(store, "meshtastic_backlog", "texts", texts)
        limit = self.config["meshtastic.node_queue"]
        if packets < limit:
            log.info("Meshtastic: the node kept %d packets (%d texts) while the kit was not reading", packets, texts)
            return
        health.bump(store, "meshtastic_backlog", "full")
        log.warning("Meshtastic: the node's queue for the kit was full (%d packets, %d texts): the node kept the "
                    "newest %d and discarded older packets; texts among them are lost and cannot be named",
                    packets, texts, limit)

    def _refused(self, store: Store, packet_id: int, reason: str) -> None:
        entry = node_outbox.refused(store, packet_id, reason)
        if entry is not None:
            self._failed_attempt(store, entry, reason)

    def _failed_attempt(self, store: Store, entry: outbox.OutboxEntry, reason: str) -> None:
        failed = outbox.retry_later(store, entry, reason, backoff=self.config["outbox.backoff"],
                                    max_backoff=self.config["outbox.max_backoff"],
                                    max_attempts=self.config["outbox.max_attempts"])
        log.warning("reply %d to %s: %s%s", entry.id, entry.recipient, reason, " (given up)" if failed else "")

    def send(self, store: Store) -> None:
        """Hand the next part of each due reply to the node: one part in flight per recipient, so replies
        arrive whole and in order (most urgent first)."""
        due = node_outbox.due(store)
        interface = self._interface
        if not due:
            return
        if interface is None or not self.connected or not interface.isConnected.is_set():
            node_outbox.hold(store, time.time() + AWAY_HOLD, self.last_error or "no Meshtastic node attached")
            return
        begun = node_outbox.replies_begun(store)
        for entry in due:
            if begun.setdefault(entry.recipient, entry.id) != entry.id and entry.recipient != BROADCAST_ID:
                continue  # one reply at a time per node: the one begun ends first
            parts = node_outbox.parts(store, entry.id)
            if any(part.state == "sending" for part in parts):  # its ACK is overdue
                node_outbox.unacknowledged_to_pending(store, entry.id)
                self._failed_attempt(store, entry, "no acknowledgement from the node")
                continue
            part = next((part for part in parts if part.state == "pending"), None)
            if part is None:
                continue
            node_outbox.handed_over(store, entry.id, part.seq, self.config["meshtastic.ack_timeout"])
            crashpoint("during_send")
            try:
                if entry.recipient == BROADCAST_ID:
                    self._to_channel(interface, store, entry, part)
                    continue
                self._hand_over(interface, entry.recipient, part.text, part.packet_id)
            except (OSError, MeshInterface.MeshInterfaceError) as exc:  # the node went away: sent again once back
                node_outbox.unacknowledged_to_pending(store, entry.id)
                self._lost.set()
                log.warning("Meshtastic: could not hand reply %d to the node: %s", entry.id, exc)
                return
            crashpoint("after_send")

    def _hand_over(self, interface: Any, recipient: str, text: str, packet_id: int) -> None:
        from meshtastic.protobuf import mesh_pb2, portnums_pb2

        packet = mesh_pb2.MeshPacket()
        packet.id = packet_id  # fixed when queued: a resend carries it again, so the receiver shows it once
        packet.decoded.portnum = portnums_pb2.PortNum.TEXT_MESSAGE_APP
        packet.decoded.payload = text.encode("utf-8")
        # sendText picks a new id each call; the packet-level call keeps ours (the library is pinned).
        interface._sendPacket(packet, destinationId=recipient, wantAck=True)

    def _to_channel(self, interface: Any, store: Store, entry: outbox.OutboxEntry,
                    part: node_outbox.NodePart) -> None:
        """A broadcast part to everyone on the kit's channel; a warning with alert priority. Nobody
        acknowledges a broadcast, so it counts as sent once the node has it."""
        channel = self.config["meshtastic.channel"]
        if entry.kind == node_outbox.ALERT:
            interface.sendAlert(part.text, channelIndex=channel)
        else:
            interface.sendText(part.text, channelIndex=channel)
        node_outbox.channel_part_sent(store, entry.id, part.seq)
