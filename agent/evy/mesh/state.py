"""What a node must remember across restarts: its packet counter, the per-source replay windows, the
duplicate cache and which messages it already delivered.

Written atomically to one JSON file on every change that matters for security (a replay accepted after a
crash would be a delivery the sender never made). ``path=None`` keeps everything in memory (simulator).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from enum import Enum
from pathlib import Path

from evy.files import atomic_write
from evy.mesh.errors import MeshError

WINDOW = 64  # packet ids per source accepted out of order
COUNTER_BLOCK = 256  # ids reserved per state write, so the counter is not written for every packet
# Packet ids never fall below 4 per second since 2025-01-01: a kit whose state file is lost still moves
# ahead of the ids it used before (while its clock is sane), instead of being taken for a replayer.
COUNTER_EPOCH = 1_735_689_600
COUNTER_RATE = 4
MAX_COUNTER = 0xFFFFFFFF


class Freshness(Enum):
    NEW = "new"
    SEEN = "seen"  # accepted before: a duplicate copy or a replay
    TOO_OLD = "too old"  # below the window: can no longer be told apart, so it is a replay


class ReplayWindow:
    """Sliding window over a source's packet ids (highest seen plus a bitmap of the 64 below)."""

    def __init__(self, highest: int = -1, bitmap: int = 0):
        self.highest, self.bitmap = highest, bitmap

    def freshness(self, packet_id: int) -> Freshness:
        if packet_id > self.highest:
            return Freshness.NEW
        offset = self.highest - packet_id
        if offset >= WINDOW:
            return Freshness.TOO_OLD
        return Freshness.SEEN if self.bitmap >> offset & 1 else Freshness.NEW

    def accept(self, packet_id: int) -> None:
        if packet_id > self.highest:
            shift = packet_id - self.highest
            self.bitmap = ((self.bitmap << shift) | 1) & ((1 << WINDOW) - 1) if shift < WINDOW else 1
            self.highest = packet_id
        else:
            self.bitmap |= 1 << (self.highest - packet_id)


class NodeState:
    def __init__(self, path: Path | None = None, dup_cache_size: int = 256, delivered_size: int = 1024,
                 counter_floor: int = 1):
        self.path = path
        self.dup_cache_size = dup_cache_size
        self.delivered_size = delivered_size
        self.node_id: int | None = None
        self._counter = max(1, counter_floor)
        self._reserved = 0
        self._windows: dict[int, ReplayWindow] = {}
        self._dups: OrderedDict[tuple[int, int], None] = OrderedDict()
        self._delivered: OrderedDict[tuple[int, int, int], None] = OrderedDict()
        if path is not None and path.exists():
            self._load(path)
            self._counter = max(self._counter, self._reserved)

    @classmethod
    def open(cls, path: Path | None, dup_cache_size: int = 256, wall_clock: float | None = None) -> NodeState:
        floor = 1
        if wall_clock is not None:
            floor = max(1, int((wall_clock - COUNTER_EPOCH) * COUNTER_RATE))
        return cls(path, dup_cache_size, counter_floor=floor)

    # packet ids -------------------------------------------------------------------------------------
    def next_packet_id(self) -> int:
        if self._counter >= MAX_COUNTER:
            raise MeshError("packet counter exhausted; give the kit a new node id")
        if self._counter >= self._reserved:
            self._reserved = min(self._counter + COUNTER_BLOCK, MAX_COUNTER)
            self.save()
        packet_id, self._counter = self._counter, self._counter + 1
        return packet_id

    # replay windows and duplicate cache ------------------------------------------------------------------
    def freshness(self, source: int, packet_id: int) -> Freshness:
        window = self._windows.get(source)
        return window.freshness(packet_id) if window else Freshness.NEW

    def is_duplicate(self, source: int, packet_id: int) -> bool:
        return (source, packet_id) in self._dups

    def remember(self, source: int, packet_id: int, save: bool = True) -> None:
        """Record an authenticated frame in its source's replay window and the duplicate cache."""
        self._windows.setdefault(source, ReplayWindow()).accept(packet_id)
        self._dups[(source, packet_id)] = None
        while len(self._dups) > self.dup_cache_size:
            self._dups.popitem(last=False)
        if save:
            self.save()

    def was_delivered(self, source: int, message_id: int, fragment: int) -> bool:
        return (source, message_id, fragment) in self._delivered

    def mark_delivered(self, source: int, message_id: int, fragment: int) -> None:
        self._delivered[(source, message_id, fragment)] = None
        while len(self._delivered) > self.delivered_size:
            self._delivered.popitem(last=False)
        self.save()

    def sources_tracked(self) -> int:
        return len(self._windows)

    # persistence -----------------------------------------------------------------------------------------
    def save(self) -> None:
        if self.path is None:
            return
        data = {
            "node_id": self.node_id, "reserved": self._reserved,
            "windows": {str(s): [w.highest, w.bitmap] for s, w in self._windows.items()},
            "dups": [list(k) for k in self._dups], "delivered": [list(k) for k in self._delivered],
        }
        atomic_write(self.path, json.dumps(data))

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text())
            self.node_id = data.get("node_id")
            self._reserved = int(data["reserved"])
            self._windows = {int(s): ReplayWindow(int(h), int(b)) for s, (h, b) in data["windows"].items()}
            self._dups = OrderedDict((tuple(k), None) for k in data["dups"][-self.dup_cache_size:])
            self._delivered = OrderedDict((tuple(k), None) for k in data["delivered"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # Starting blank would reopen every replay window: refuse and let a technician decide.
            raise MeshError(f"mesh state {path} unreadable ({exc}); move it aside to start over") from None
