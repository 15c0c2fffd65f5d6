"""The agent's side of the LoRa mesh: a mesh node on its own asyncio thread, and thread-safe hand-overs.

- A kit that cannot reach the cellular network hands queued replies to a kit that can (``relay``).
- A kit with coverage sends the replies other kits hand it (``take_relays``) through its own outbox.
- Every kit beacons whether it has coverage and how many replies wait in its outbox.
- An operator hands a case to a kit nearer its sender (``hand_over``; received ones: ``take_handovers``).
- Every kit beacons whether it has coverage and how many replies wait in its outbox, and whether its fleet
  uplink reaches the broker (``backhaul``, set by the fleet uplink); the uplink hands events to and takes
  them from neighbours through ``send_fleet``/``take_fleet`` (evy.fleet.handoff).
- bigEVY (evy.offload): a big node (``offload.serve``) answers other kits' routine questions and says so in
  its beacons; any kit may ``ask`` the nearest big node and wait, up to a deadline, for an answer that the
  brain then vets like its own model's.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from evy.config import Config
from evy.mesh.errors import MeshError
from evy.mesh.messages import (
    Beacon,
    Body,
    CaseHandover,
    OffloadRequest,
    OffloadResponse,
    SmsRelay,
    UplinkAck,
    UplinkHandoff,
)
from evy.mesh.node import MeshNode, Message
from evy.mesh.service import open_node
from evy.messages import Priority
from evy.offload.asking import Pending
from evy.offload.server import Asked, OffloadServer
from evy.power.resources import ResourceMonitor
from evy.sms import address
from evy.sms.errors import CodecError

log = logging.getLogger("evy.mesh.link")
T = TypeVar("T")

UNKNOWN_BATTERY = 255  # the beacon's "not measured" value
RELAY_NUMBER = re.compile(r"\+?[0-9]{3,20}")
MAX_RELAY_CHARS = 2000  # longer than any reply a kit composes; the outbox compresses it to the SMS budget


@dataclass(frozen=True)
class RelayedSms:
    """An SMS another kit asked this one to send."""

    source: int
    number: str
    text: str
    priority: Priority


@dataclass(frozen=True)
class ReceivedHandover:
    """A case another kit handed to this one."""

    source: int
    body: CaseHandover


class MeshLink:
    """Built before the agent (it needs the modem's coverage and the power monitor, not the agent); the agent
    then reports its outbox through :attr:`queue_depth`. Neither the modem nor the monitor is closed here."""

    def __init__(self, config: Config, coverage: Callable[[], bool], power: ResourceMonitor | None = None):
        self.config = config
        self.coverage = coverage
        self.power = power
        self.queue_depth = 0  # replies waiting in the outbox, as the agent last counted them (for beacons)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._node: MeshNode | None = None
        self._thread: threading.Thread | None = None
        self._relays: queue.Queue[RelayedSms] = queue.Queue()
        self._outcomes: queue.Queue[tuple[int, bool]] = queue.Queue()
        self._handovers: queue.Queue[ReceivedHandover] = queue.Queue()
        self.backhaul: Callable[[], bool] = lambda: False  # the fleet uplink's broker connection, for beacons
        # bounded: a kit whose fleet is off never takes them (the origin tries again elsewhere)
        self._fleet: queue.Queue[tuple[int, Priority, Body]] = queue.Queue(maxsize=256)
        self._fleet_outcomes: queue.Queue[tuple[int, bool]] = queue.Queue()
        self._fleet_ids: set[int] = set()  # hand-offs in flight: their outcomes go to the uplink, not the agent
        self.offloads = Pending()  # this kit's questions to big nodes, waiting for their answers
        self._offload_messages: set[int] = set()  # mesh ids of offload requests and answers (mesh thread only)
        self.server: OffloadServer | None = None  # answers other kits' questions (offload.serve)

    def start(self) -> None:
        """Open the node (refuses without a network key) and run it on a daemon thread."""
        loop = asyncio.new_event_loop()
        if self.config["offload.serve"] and self.server is None:
            self.server = OffloadServer(self.config, self._answer_kit)
            self.server.start()
        opened: queue.Queue[BaseException | MeshNode] = queue.Queue()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                node = open_node(self.config, loop, on_message=self._on_message, on_status=self._on_status,
                                 beacon=self._beacon, battery=self._battery)
            except BaseException as exc:  # reported to start()'s caller
                opened.put(exc)
                return
            opened.put(node)
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=serve, name="evy-mesh", daemon=True)
        self._thread.start()
        result = opened.get(timeout=30)
        if isinstance(result, BaseException):
            self.stop()  # the offload server, if it was starting: a kit off the mesh serves nobody
            raise result
        self._node = result
        log.info("mesh node %#x up", self._node.node_id)

    def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        if self._loop is None or self._node is None:
            return
        self._call(self._node.stop)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._node = None

    # -- from the agent's thread -----------------------------------------------------------------------
    def gateways(self) -> list[int]:
        return self._call(self._node.gateways) if self._node else []

    def relay(self, gateway: int, number: str, text: str, priority: Priority) -> int:
        """Hand one whole SMS to ``gateway``; its fate arrives later through :meth:`take_outcomes`."""
        return self._call(self._node.send, gateway, SmsRelay(number, text), priority)

    def hand_over(self, kit: int, case: CaseHandover, priority: Priority) -> int:
        """Send a case's summary to ``kit``; its fate arrives through :meth:`take_outcomes`."""
        return self._call(self._node.send, kit, case, priority)

    def take_handovers(self) -> list[ReceivedHandover]:
        return _drain(self._handovers)
    # -- from the fleet uplink's thread -------------------------------------------------------------------
    def backhauls(self) -> list[int]:
        return self._call(self._node.backhauls) if self._node else []

    def airtime_allows(self, body_bytes: int, priority: Priority, routine_share: float) -> bool:
        return bool(self._node) and self._call(self._node.airtime_allows, body_bytes, priority, routine_share)

    def send_fleet(self, destination: int, message: UplinkHandoff | UplinkAck, priority: Priority) -> int:
        """Send a hand-off or its acknowledgement; its fate arrives through :meth:`take_fleet_outcomes`."""
        node = self._node

        def send() -> int:
            message_id = node.send(destination, message, priority)
            self._fleet_ids.add(message_id)
            return message_id

        return self._call(send)

    def take_fleet(self) -> list[tuple[int, Priority, Body]]:
        """(source node, priority on air, UplinkHandoff or UplinkAck) received since the last call."""
        return _drain(self._fleet)

    def take_fleet_outcomes(self) -> list[tuple[int, bool]]:
        return _drain(self._fleet_outcomes)

    @property
    def node_id(self) -> int | None:
        return self._node.node_id if self._node is not None else None

    def node_counters(self) -> dict[str, Any]:
        """The node's frame counters (sent, delivered, forged, foreign...), read on the mesh thread."""
        return self._call(lambda: vars(self._node.counters).copy()) if self._node is not None else {}

    def available(self) -> bool:
        """Whether a big node's fresh beacon offers answers (for the brain's first reply: never blocks long)."""
        if self._node is None or self._loop is None:
            return False
        node = self._node

        async def targets() -> bool:
            return bool(node.offload_targets())

        try:
            return asyncio.run_coroutine_threadsafe(targets(), self._loop).result(timeout=0.5)
        except Exception:
            return False

    def ask(self, text: str, *, max_chars: int, deadline: float) -> str | None:
        """Ask the nearest big node (routine priority) and wait until ``deadline`` (time.monotonic()) for its
        answer; None at once when no big node is near. The caller vets the answer; never for emergencies."""
        seconds = min(255, int(deadline - time.monotonic()))
        if self._node is None or seconds < 1:
            return None
        node = self._node

        def send() -> int | None:
            targets = node.offload_targets()
            if not targets:
                return None
            request_id = node.send(targets[0], OffloadRequest(text, max_chars, seconds), Priority.ROUTINE)
            self.offloads.expect(request_id, targets[0], deadline)  # on the mesh thread: before any answer
            self._offload_messages.add(request_id)
            return request_id

        request_id = self._call(send)
        return None if request_id is None else self.offloads.wait(request_id)

    def snapshot(self, timeout: float = 1.0) -> dict[str, Any] | None:
        """The node's neighbours (with their last beacon) and airtime, for the kit's health; None when the
        mesh thread does not answer within ``timeout`` (a health figure must never hold up the agent)."""
        if self._node is None or self._loop is None:
            return None
        node = self._node

        async def read() -> dict[str, Any]:
            now = node.clock.time()
            return {
                "node": f"{node.node_id:08x}",
                "neighbours": [{"node": f"{peer:08x}", "heard_at": status.heard_at, "hops": status.hops,
                                "battery_pct": None if status.beacon.battery_pct == UNKNOWN_BATTERY
                                else status.beacon.battery_pct, "charging": status.beacon.charging,
                                "cellular": status.beacon.cellular, "queue_depth": status.beacon.queue_depth,
                                "big_model": status.beacon.big_model}
                               for peer, status in sorted(node.peers.items())],
                "airtime_used_s": round(node.ledger.used_s(now), 3),
                "airtime_allowed_s": round(node.ledger.limit_s, 3),
                "delivered": node.counters.delivered, "gave_up": node.counters.gave_up,
                "relayed": node.counters.relayed,
                "offload": {"asking": self.offloads.figures(),
                            "serving": self.server.figures() if self.server is not None else None},
            }

        try:
            return asyncio.run_coroutine_threadsafe(read(), self._loop).result(timeout=timeout)
        except Exception as exc:  # a busy or stopped mesh thread: no figure this time
            log.debug("mesh snapshot unavailable: %s", exc)
            return None

    def take_relays(self) -> list[RelayedSms]:
        return _drain(self._relays)

    def take_outcomes(self) -> list[tuple[int, bool]]:
        """(mesh message id, acknowledged) for messages handed over with :meth:`relay`."""
        return _drain(self._outcomes)

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        async def call() -> T:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(timeout=10)

    # -- on the mesh thread ----------------------------------------------------------------------------
    def _on_message(self, message: Message) -> None:
        try:
            body = message.decoded()
        except Exception as exc:  # whatever a peer sent, the kit goes on
            log.warning("rejected a mesh message from %#x: its body does not decode (%s)", message.source, exc)
            return
        if isinstance(body, UplinkHandoff | UplinkAck):
            try:
                self._fleet.put_nowait((message.source, message.priority, body))
            except queue.Full:
                log.info("fleet hand-off from %#x dropped: the fleet uplink is not taking them", message.source)
        elif isinstance(body, SmsRelay):
            problem = untrusted_relay_problem(body)
            if problem is not None:
                log.warning("rejected an SMS relay from kit %#x: %s", message.source, problem)
                return
            priority = Priority.EMERGENCY if message.priority.emergency else Priority.ROUTINE
            self._relays.put(RelayedSms(message.source, body.number, body.text, priority))
        elif isinstance(body, CaseHandover):
            problem = untrusted_handover_problem(body)
            if problem is not None:
                log.warning("rejected case %r from kit %#x: %s", body.case_code[:8], message.source, problem)
                return
            self._handovers.put(ReceivedHandover(message.source, body))
        elif isinstance(body, OffloadRequest):
            if self.server is None:
                log.info("offload request from kit %#x ignored: this node does not serve", message.source)
                return
            self.server.submit(Asked(message.source, message.message_id, message.priority.emergency, body,
                                     time.monotonic()))
        elif isinstance(body, OffloadResponse):
            dropped = self.offloads.arrived(message.source, body)
            if dropped is not None:
                log.warning("dropped an offload answer from kit %#x: %s", message.source, dropped)
        else:
            log.info("mesh %s from %#x", type(body).__name__, message.source)

    def _on_status(self, message_id: int, delivered: bool) -> None:
        if message_id in self._offload_messages:  # not a relayed reply: nothing in the outbox to settle
            self._offload_messages.discard(message_id)
            if not delivered:
                self.offloads.undelivered(message_id)  # the big node is gone: the kit's own model answers now
            return
        if message_id in self._fleet_ids:
            self._fleet_ids.discard(message_id)
            self._fleet_outcomes.put((message_id, delivered))
        else:
            self._outcomes.put((message_id, delivered))

    def _answer_kit(self, kit: int, response: OffloadResponse) -> None:
        """The offload server's answer (from its thread) onto the mesh thread."""
        def send() -> None:
            try:
                self._offload_messages.add(self._node.send(kit, response, Priority.ROUTINE))
            except MeshError as exc:
                log.warning("offload answer to kit %#x not sent: %s", kit, exc)

        if self._loop is not None and self._node is not None:
            self._loop.call_soon_threadsafe(send)

    def _battery(self) -> int | None:
        """Battery % for routing (a low kit relays less); None when unknown."""
        return self.power.snapshot().battery_pct if self.power is not None else None

    def _beacon(self) -> Beacon:
        reading = self.power.snapshot().power if self.power is not None else None
        battery = reading.battery_pct if reading is not None else None
        return Beacon(battery_pct=UNKNOWN_BATTERY if battery is None else battery,
                      charging=bool(reading.charging) if reading is not None else False,
                      queue_depth=min(self.queue_depth, 255), cellular=self.coverage(), backhaul=self.backhaul(),
                      big_model=self.server is not None and self.server.ready())


def untrusted_relay_problem(relay: SmsRelay) -> str | None:
    """Why a relay from the mesh cannot become an SMS, or None. A key proves only that a kit sent it."""
    if not RELAY_NUMBER.fullmatch(relay.number):
        return f"{relay.number!r} is not an international or national phone number"
    try:
        address.encode(relay.number, field="relayed number", alphanumeric=False)
    except CodecError as exc:
        return str(exc)
    if not relay.text.strip():
        return "the text is empty"
    if len(relay.text) > MAX_RELAY_CHARS:
        return f"the text is {len(relay.text)} characters, over {MAX_RELAY_CHARS}"
    return None


def untrusted_handover_problem(case: CaseHandover) -> str | None:
    """Why a case handed over the mesh cannot be opened here, or None."""
    problem = untrusted_relay_problem(SmsRelay(case.sender, "-"))
    if problem is not None:
        return problem
    if not case.case_code.isalnum() or len(case.case_code) > 8:
        return f"{case.case_code!r} is not a case code"
    if case.priority > 3:
        return f"priority {case.priority} is not 0..3"
    if (case.latitude is None) != (case.longitude is None) or (
            case.latitude is not None and not (-90 <= case.latitude <= 90 and -180 <= case.longitude <= 180)):
        return f"{case.latitude}, {case.longitude} is not a place"
    if not 1 <= len(case.language) <= 8 or not case.language.replace("-", "").isalpha():
        return f"{case.language!r} is not a language"
    if any(len(text) > MAX_RELAY_CHARS for _, text in case.messages):
        return f"a message is over {MAX_RELAY_CHARS} characters"
    return None


def _drain(source: queue.Queue[T]) -> list[T]:
    items = []
    while True:
        try:
            items.append(source.get_nowait())
        except queue.Empty:
            return items
