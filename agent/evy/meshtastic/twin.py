"""A Meshtastic node on a real pty: the twin of a USB-attached radio, for tests and `evy sim`.

It speaks the node's serial stream protocol: every protobuf (``ToRadio`` from the client, ``FromRadio`` from
the node) is framed as 0x94 0xC3, a 16-bit big-endian length, then the message; bytes outside a frame are the
node's debug log. A client's ``want_config_id`` is answered with ``my_info``, the node database
(``node_info``), the primary channel, the LoRa config and ``config_complete_id``, so the official
``meshtastic.serial_interface.SerialInterface`` connects to it exactly as to a radio. The protobuf classes are
the ones the ``meshtastic`` package ships.

What the node receives waits in its queue for the client (``to_phone_limit`` packets, 32 as on nRF52 boards)
and is handed over only while a client is in the packet phase: after ``config_complete_id`` and until the
client sends ``disconnect`` or has been silent for ``connection_timeout`` (15 minutes, as firmware; the
library's heartbeat every 300 s keeps it alive). Like firmware the twin cannot see a client process die or a
cable go: a packet handed over then (:attr:`handed_over`) is written to a line nobody reads, and the next
client's open flushes it. When the queue is full a text displaces the oldest packet and any other packet is
dropped (:attr:`dropped`), as ``MeshService::sendToPhone`` does. docs/meshtastic.md names the firmware
sources.

Like firmware, the twin answers every packet it is handed with a ``queueStatus``, and a packet sent with
``want_ack`` to a node it knows with that node's routing ACK (or a NAK with MAX_RETRANSMIT when the node is
set unreachable). Like a receiving node's firmware, :attr:`delivered` keeps one copy per (sender, packet id):
a retransmission with the same id is counted in :attr:`duplicates` and not shown twice.

``port`` is a symlink that always points at the current pty, so :meth:`unplug` then :meth:`plug` looks to
the client like a USB radio pulled and put back; :meth:`reboot` is a reset that keeps the port. With
``tcp=True`` it serves the same stream on loopback ``tcp_port`` instead, as ``meshtasticd`` does.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import tempfile
import threading
import time
import tty
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from meshtastic.protobuf import channel_pb2, config_pb2, mesh_pb2, portnums_pb2

from evy.meshtastic.stream import FrameReader, frame

WRITE_WAIT = 0.5  # seconds a write waits for a line nobody drains
BROADCAST_NUM = 0xFFFFFFFF


def node_id(num: int) -> str:
    return f"!{num:08x}"


@dataclass(frozen=True)
class SentByKit:
    """A packet the client handed to the node."""

    packet_id: int
    to: str
    channel: int
    portnum: int
    text: str
    want_ack: bool
    priority: int


@dataclass
class OtherNode:
    num: int
    long_name: str
    public_key: bytes
    reachable: bool = True


class MeshtasticTwin:
    """Start with ``with MeshtasticTwin() as twin``; hand ``twin.port`` to ``SerialInterface``."""

    def __init__(self, node_num: int = 0x0EF0C0DE, long_name: str = "EVY kit", *, tcp: bool = False,
                 to_phone_limit: int = 32, connection_timeout: float = 900.0):
        self.tcp = tcp  # serve the stream API on loopback TCP (like meshtasticd) instead of a pty
        self.tcp_port = 0
        self._listener: socket.socket | None = None
        self.node_num = node_num
        self.long_name = long_name
        self.others: dict[int, OtherNode] = {}
        self.sent: list[SentByKit] = []        # every packet handed over, retransmissions included
        self.delivered: list[SentByKit] = []   # what the receiving nodes show: one per (to, packet id)
        self.duplicates = 0
        self.ack_delay = 0.0
        self.hold_acks = False                 # hand packets over but answer nothing (a node mid-reset)
        self.configs = 0                       # completed config handshakes (1 per (re)connect)
        self._seen: set[tuple[str, int]] = set()
        self._dir = tempfile.TemporaryDirectory(prefix="evy-meshtastic-")
        self.port = str(Path(self._dir.name) / "ttyMESH")
        self._master: int | None = None
        self._slave: int | None = None
        self._lock = threading.Lock()
        self._draining = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_id = 0x1000
        self._generation = 0  # bumped by a reboot: ACKs still on their way are lost with the node's RAM
        self.to_phone_limit = to_phone_limit          # MAX_RX_TOPHONE of the board being played
        self.connection_timeout = connection_timeout  # silence after which the node gives its client up
        self.dropped: list[int] = []                  # packet ids the full queue discarded, in order
        self.handed_over: list[int] = []              # packet ids written to the client's line, in order
        self._client_ready = False  # the API is in the packet phase (firmware: STATE_SEND_PACKETS)
        self._last_contact = time.monotonic()
        self._to_phone: deque[mesh_pb2.FromRadio] = deque()  # what waits for the client, oldest first

    # -- lifecycle -------------------------------------------------------------------------------------
    def __enter__(self) -> MeshtasticTwin:
        self.plug()
        return self

    def __exit__(self, *exc: object) -> None:
        self.unplug()
        self._dir.cleanup()

    def plug(self) -> None:
        """Attach the node: a fresh pty behind ``port`` (or meshtasticd's TCP port), and the thread serving it."""
        self._stop.clear()
        if self.tcp:
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.tcp_port))
            listener.listen(1)
            listener.settimeout(0.05)
            self._listener, self.tcp_port = listener, listener.getsockname()[1]
            self._thread = threading.Thread(target=self._accept, name="meshtastic-twin", daemon=True)
            self._thread.start()
            return
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        with self._lock:
            self._master, self._slave = master, slave
        link = Path(self.port)
        link.unlink(missing_ok=True)
        link.symlink_to(os.ttyname(slave))
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, args=(master,), name="meshtastic-twin", daemon=True)
        self._thread.start()

    def unplug(self) -> None:
        """Pull the USB cable: the pty goes away under the client. The node stays powered (a battery) and,
        like firmware, does not notice: it gives its client up only after ``connection_timeout``. Over TCP
        (meshtasticd restarting) the client's socket closes, which the node does notice."""
        if self.tcp:
            self._client_ready = False
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            for fd in (self._master, self._slave):
                if fd is not None:
                    os.close(fd)
            self._master = self._slave = None
            if self._listener is not None:
                self._listener.close()
                self._listener = None
        Path(self.port).unlink(missing_ok=True)

    def reboot(self) -> None:
        """A reset that keeps the port: packets not yet acknowledged are forgotten, ``rebooted`` is sent."""
        self._generation += 1
        self._client_ready = False
        self._to_phone.clear()
        self._write(mesh_pb2.FromRadio(rebooted=True))

    # -- the mesh around the kit -----------------------------------------------------------------------
    def add_node(self, num: int, long_name: str = "", public_key: bytes | None = None) -> OtherNode:
        node = OtherNode(num, long_name or node_id(num), public_key or os.urandom(32))
        self.others[num] = node
        return node

    def direct(self, sender: int, text: str, *, pki: bool = True, packet_id: int | None = None) -> int:
        """A direct text message from ``sender`` to the kit's node; ``pki`` as the firmware flags it."""
        node = self.others.get(sender) or self.add_node(sender)
        packet = self._text_packet(sender, self.node_num, text, channel=0, packet_id=packet_id)
        if pki:
            packet.pki_encrypted = True
            packet.public_key = node.public_key
        self._deliver(mesh_pb2.FromRadio(packet=packet))
        return packet.id

    def channel(self, sender: int, text: str, channel: int = 0) -> int:
        """A text message from ``sender`` to everyone on ``channel`` (channel key only, not authenticated)."""
        self.others.get(sender) or self.add_node(sender)
        packet = self._text_packet(sender, BROADCAST_NUM, text, channel=channel)
        self._deliver(mesh_pb2.FromRadio(packet=packet))
        return packet.id

    def texts_to(self, node: int) -> list[str]:
        return [p.text for p in self.delivered if p.to == node_id(node)]

    def wait_for(self, predicate, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the twin waited {timeout:.0f} s; it saw {self.delivered!r}")
            time.sleep(0.02)

    # -- the serial side -------------------------------------------------------------------------------
    def _text_packet(self, sender: int, to: int, text: str, *, channel: int,
                     packet_id: int | None = None) -> mesh_pb2.MeshPacket:
        packet = mesh_pb2.MeshPacket()
        setattr(packet, "from", sender)  # "from" is a Python keyword
        packet.to = to
        packet.channel = channel
        packet.id = packet_id if packet_id is not None else self._new_id()
        packet.rx_time = int(time.time())
        packet.hop_limit = 3
        packet.decoded.portnum = portnums_pb2.PortNum.TEXT_MESSAGE_APP
        packet.decoded.payload = text.encode("utf-8")
        return packet

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def position(self, sender: int) -> int:
        """A position broadcast from ``sender``: not a text, so a full queue drops it rather than make room."""
        self.others.get(sender) or self.add_node(sender)
        packet = mesh_pb2.MeshPacket()
        setattr(packet, "from", sender)
        packet.to = BROADCAST_NUM
        packet.id = self._new_id()
        packet.decoded.portnum = portnums_pb2.PortNum.POSITION_APP
        packet.decoded.payload = mesh_pb2.Position(latitude_i=-12800000, longitude_i=368200000).SerializeToString()
        self._deliver(mesh_pb2.FromRadio(packet=packet))
        return packet.id

    @property
    def client_attached(self) -> bool:
        """The node believes a client reads it (firmware: the API is in STATE_SEND_PACKETS)."""
        with self._lock:
            self._expire_client()
            return self._client_ready

    @property
    def waiting(self) -> int:
        """Packets in the node's queue for its client."""
        return len(self._to_phone)

    @property
    def waiting_ids(self) -> list[int]:
        """Packet ids in the node's queue for its client, oldest first."""
        with self._lock:
            return [message.packet.id for message in self._to_phone]

    def _deliver(self, message: mesh_pb2.FromRadio) -> None:
        """A packet for the client: into the node's queue, handed over at once while a client is in the packet
        phase (firmware: ``MeshService::sendToPhone``, then ``PhoneAPI`` drains the queue)."""
        with self._lock:
            self._expire_client()
            if len(self._to_phone) >= self.to_phone_limit:
                portnum = message.packet.decoded.portnum
                if portnum in (portnums_pb2.PortNum.TEXT_MESSAGE_APP, portnums_pb2.PortNum.RANGE_TEST_APP):
                    self.dropped.append(self._to_phone.popleft().packet.id)
                else:
                    self.dropped.append(message.packet.id)
                    return
            self._to_phone.append(message)
        self._drain()

    def _expire_client(self) -> None:
        """Firmware closes a serial client only after it has been silent for the connection timeout."""
        if self._client_ready and time.monotonic() - self._last_contact > self.connection_timeout:
            self._client_ready = False

    def _drain(self) -> None:
        """Hand every waiting packet to the client while it is in the packet phase. With the cable out the
        bytes go nowhere; with the port closed they wait in the pty until the next client flushes them."""
        with self._draining:  # one drain at a time (the serving thread and a test's), so oldest goes first
            while True:
                with self._lock:
                    if not self._client_ready or not self._to_phone:
                        return
                    message = self._to_phone.popleft()
                    self.handed_over.append(message.packet.id)
                    master = self._master
                if master is None:
                    continue  # unplugged: written to a cable that goes nowhere
                with contextlib.suppress(ConnectionError):
                    self._write(message)

    def _write(self, message: mesh_pb2.FromRadio) -> None:
        data = frame(message.SerializeToString())
        with self._lock:
            if self._master is None:
                raise ConnectionError("the twin is unplugged")
            while data:  # a line nobody reads fills up; then, like a UART, the rest is lost
                if not select.select([], [self._master], [], WRITE_WAIT)[1]:
                    return
                try:
                    data = data[os.write(self._master, data):]
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:  # a TCP client that went away
                    return

    def _accept(self) -> None:
        """meshtasticd: one client at a time on the TCP port; a client that hangs up frees it."""
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            connection.setblocking(False)
            with self._lock:
                self._master = connection.fileno()
            self._serve(connection.fileno())
            with self._lock:
                self._master = None
                self._client_ready = False  # a closed socket the node does notice: it keeps packets again
            connection.close()

    def _serve(self, master: int) -> None:
        reader = FrameReader()
        while not self._stop.is_set():
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(master, 4096)
            except OSError:  # the client closed its side of the pty; wait for the next one
                time.sleep(0.05)
                continue
            if not data:  # a TCP client hung up
                return
            for raw in reader.feed(data):
                to_radio = mesh_pb2.ToRadio()
                try:
                    to_radio.ParseFromString(raw)
                except Exception:  # a garbled frame is dropped, as firmware does
                    continue
                self._handle(to_radio)

    def _handle(self, to_radio: mesh_pb2.ToRadio) -> None:
        self._last_contact = time.monotonic()
        kind = to_radio.WhichOneof("payload_variant")
        if kind == "want_config_id":
            self._send_config(to_radio.want_config_id)
        elif kind == "packet":
            self._handle_packet(to_radio.packet)
        elif kind == "disconnect":  # the library's close(): the node keeps what arrives for the next client
            self._client_ready = False
        elif kind == "heartbeat":
            self._write(mesh_pb2.FromRadio(queueStatus=mesh_pb2.QueueStatus(res=0, free=16, maxlen=16)))

    def _send_config(self, config_id: int) -> None:
        self._client_ready = False  # a new handshake restarts the state machine; packets wait for its end
        self._write(mesh_pb2.FromRadio(my_info=mesh_pb2.MyNodeInfo(my_node_num=self.node_num)))
        self._write(mesh_pb2.FromRadio(metadata=mesh_pb2.DeviceMetadata(firmware_version="2.7.15.twin")))
        for num, name in [(self.node_num, self.long_name)] + [(n.num, n.long_name) for n in self.others.values()]:
            user = mesh_pb2.User(id=node_id(num), long_name=name, short_name=name[:4])
            self._write(mesh_pb2.FromRadio(node_info=mesh_pb2.NodeInfo(num=num, user=user)))
        primary = channel_pb2.Channel(index=0, role=channel_pb2.Channel.Role.PRIMARY)
        primary.settings.name = "LongFast"
        self._write(mesh_pb2.FromRadio(channel=primary))
        lora_config = config_pb2.Config.LoRaConfig
        lora = config_pb2.Config(lora=lora_config(hop_limit=3, region=lora_config.EU_868))
        self._write(mesh_pb2.FromRadio(config=lora))
        self._write(mesh_pb2.FromRadio(config_complete_id=config_id))
        self.configs += 1
        with self._lock:
            self._client_ready = True
        self._drain()  # right after config_complete_id, as firmware empties its queue for the client

    def _handle_packet(self, packet: mesh_pb2.MeshPacket) -> None:
        text = packet.decoded.payload.decode("utf-8", "replace")
        sent = SentByKit(packet.id, "^all" if packet.to == BROADCAST_NUM else node_id(packet.to), packet.channel,
                         packet.decoded.portnum, text, packet.want_ack, packet.priority)
        self.sent.append(sent)
        self._write(mesh_pb2.FromRadio(queueStatus=mesh_pb2.QueueStatus(res=0, free=15, maxlen=16,
                                                                         mesh_packet_id=packet.id)))
        if self.hold_acks:
            return
        key = (sent.to, sent.packet_id)
        if key in self._seen:
            self.duplicates += 1
        else:
            destination = self.others.get(packet.to)
            if packet.to == BROADCAST_NUM or (destination is not None and destination.reachable):
                self._seen.add(key)
                self.delivered.append(sent)
        if packet.want_ack and packet.to != BROADCAST_NUM:
            destination = self.others.get(packet.to)
            error = (mesh_pb2.Routing.Error.NONE if destination is not None and destination.reachable
                     else mesh_pb2.Routing.Error.MAX_RETRANSMIT)
            threading.Timer(self.ack_delay, self._routing_reply, (packet, error, self._generation)).start()

    def _routing_reply(self, packet: mesh_pb2.MeshPacket, error: int, generation: int) -> None:
        if generation != self._generation:
            return
        reply = mesh_pb2.MeshPacket()
        # An ACK comes from the destination; a NAK for no route from the kit's own node.
        setattr(reply, "from", packet.to if error == mesh_pb2.Routing.Error.NONE else self.node_num)
        reply.to = self.node_num
        reply.id = self._new_id()
        reply.decoded.portnum = portnums_pb2.PortNum.ROUTING_APP
        reply.decoded.request_id = packet.id
        reply.decoded.payload = mesh_pb2.Routing(error_reason=error).SerializeToString()
        self._deliver(mesh_pb2.FromRadio(packet=reply))  # through the queue for the client, like any packet
