"""The SX1276's network twin: frames as UDP datagrams on loopback or between network namespaces.

It behaves like the air, not like a network: a datagram occupies the channel for the frame's real time on
air; two receptions that overlap collide and are both lost; a radio that is transmitting hears nothing;
each reception may be lost at random (``loss``) and is delivered after its airtime plus ``delay_s``.
``block`` cuts this radio off from chosen peers (a partition) until ``unblock``. Radio range is the peer
list: give each node only its neighbours to build a line, star or grid across processes.

It runs on an asyncio event loop (the node's clock), reading the socket with ``loop.add_reader``.
"""

from __future__ import annotations

import asyncio
import random
import socket
from dataclasses import dataclass
from typing import Any

from evy.mesh.airtime import Modulation
from evy.mesh.errors import RadioError
from evy.mesh.radio.base import Radio, Receiver

Address = tuple[str, int]


def parse_address(text: str, default_port: int = 47700) -> Address:
    host, _, port = text.rpartition(":")
    if not host:
        host, port = text, str(default_port)
    try:
        return host.strip("[]"), int(port)
    except ValueError:
        raise RadioError(f"bad UDP address {text!r}; expected HOST:PORT") from None


@dataclass
class _Reception:
    frame: bytes
    sender: Address
    start: float
    end: float
    collided: bool = False


class UdpRadio(Radio):
    def __init__(self, modulation: Modulation, bind: Address, peers: list[Address], loop: asyncio.AbstractEventLoop,
                 *, loss: float = 0.0, delay_s: float = 0.0, snr_db: float = 5.0, rng: random.Random | None = None,
                 broadcast: bool = False):
        if not 0.0 <= loss < 1.0:
            raise RadioError("loss must be in [0, 1)")
        if not peers:
            raise RadioError("the udp radio needs at least one peer (or a broadcast address)")
        self.modulation, self.bind, self.peers, self.loop = modulation, bind, list(peers), loop
        self.loss, self.delay_s, self.snr_db, self.broadcast = loss, delay_s, snr_db, broadcast
        self.rng = rng or random.Random()
        self.blocked: set[str] = set()
        self.collisions = 0
        self._socket: socket.socket | None = None
        self._receiver: Receiver | None = None
        self._receiving: list[_Reception] = []
        self._tx_start = self._tx_until = -1.0

    @classmethod
    def from_config(cls, config: Any, modulation: Modulation, loop: asyncio.AbstractEventLoop, *,
                    loss: float = 0.0) -> UdpRadio:
        """``mesh.udp_bind`` and ``mesh.udp_peers``; no peers: the broadcast address of the bound port."""
        bind = parse_address(config["mesh.udp_bind"])
        peers = [parse_address(peer, bind[1]) for peer in config["mesh.udp_peers"]]
        return cls(modulation, bind, peers or [("255.255.255.255", bind[1])], loop, loss=loss,
                   broadcast=not peers)

    def open(self, receiver: Receiver) -> None:
        if self._socket is not None:
            raise RadioError("udp radio already open")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if self.broadcast:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            sock.bind(self.bind)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise RadioError(f"udp radio cannot bind {self.bind[0]}:{self.bind[1]}: {exc.strerror}") from exc
        self._socket, self._receiver = sock, receiver
        self.loop.add_reader(sock.fileno(), self._readable)

    def close(self) -> None:
        sock, self._socket = self._socket, None
        if sock is not None:
            self.loop.remove_reader(sock.fileno())
            sock.close()

    def transmit(self, frame: bytes) -> float:
        if self._socket is None:
            raise RadioError("udp radio is not open")
        airtime = self.airtime(len(frame))
        self._tx_start = self.loop.time()
        self._tx_until = self._tx_start + airtime
        for peer in self.peers:
            if peer[0] in self.blocked:
                continue
            try:
                self._socket.sendto(frame, peer)
            except OSError as exc:  # an unreachable peer is like a node out of range
                if exc.errno not in (101, 111, 113):  # ENETUNREACH, ECONNREFUSED, EHOSTUNREACH
                    raise RadioError(f"udp radio send to {peer[0]}:{peer[1]} failed: {exc.strerror}") from exc
        return airtime

    def channel_busy(self) -> bool:
        now = self.loop.time()
        return any(r.start <= now < r.end for r in self._receiving)

    def block(self, hosts: set[str]) -> None:
        self.blocked |= hosts

    def unblock(self) -> None:
        self.blocked.clear()

    def _readable(self) -> None:
        if self._socket is None:
            return
        while True:
            try:
                frame, sender = self._socket.recvfrom(512)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self._arrived(frame, sender)

    def _arrived(self, frame: bytes, sender: Address) -> None:
        if sender == self.bind or sender[0] in self.blocked or not 0 < len(frame) <= 255:
            return
        now = self.loop.time()
        reception = _Reception(frame, sender, now, now + self.airtime(len(frame)))
        self._receiving = [r for r in self._receiving if r.end > now]
        for other in self._receiving:
            other.collided = reception.collided = True
        self._receiving.append(reception)
        self.loop.call_later(reception.end - now + self.delay_s, self._finish, reception)

    def _finish(self, reception: _Reception) -> None:
        if reception.collided:
            self.collisions += 1
            return
        overlapped = self._tx_start < reception.end and self._tx_until > reception.start
        if overlapped or self._receiver is None or self._socket is None:
            return  # half duplex: we were transmitting
        if self.rng.random() < self.loss:
            return
        self._receiver(reception.frame, -120.0 + self.snr_db, self.snr_db)
