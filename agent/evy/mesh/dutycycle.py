"""Regional airtime rules and the rolling 60-minute airtime ledger that enforces them.

Before every transmission the ledger checks the 60-minute window that *ends when the frame ends*. That is
sufficient for every window: the airtime inside a sliding window only peaks when the window's end meets the
end of a transmission, so checking each of those windows bounds them all.

Routine traffic may use half the legal allowance, leaving the rest for emergency traffic; nothing may use
more than the legal limit. A band with a dwell-time rule also refuses any single frame longer than it.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from evy.files import atomic_write
from evy.mesh.errors import DutyCycleExceeded, MeshError

WINDOW_S = 3600.0
ROUTINE_SHARE = 0.5


@dataclass(frozen=True)
class SubBand:
    low_mhz: float
    high_mhz: float
    duty_cycle: float  # fraction of any 60-minute window; 1.0 = no duty-cycle rule
    max_dwell_s: float | None = None  # longest single transmission allowed, if the band has such a rule
    rule: str = ""


@dataclass(frozen=True)
class Region:
    name: str
    bands: tuple[SubBand, ...]

    def band(self, frequency_mhz: float) -> SubBand:
        for band in self.bands:
            if band.low_mhz <= frequency_mhz <= band.high_mhz:
                return band
        ranges = ", ".join(f"{b.low_mhz}-{b.high_mhz}" for b in self.bands)
        raise MeshError(f"{frequency_mhz} MHz is outside the {self.name} LoRa bands ({ranges} MHz)")


# Conservative readings of the regional rules (ETSI EN 300 220 for Europe, FCC 15.247 for the US, LoRaWAN
# regional parameters RP002 elsewhere). Where a region allows listen-before-talk instead of a duty cycle, we
# still keep the duty cycle: the kits have CAD but no certified LBT.
REGIONS: dict[str, Region] = {r.name: r for r in (
    Region("EU868", (
        SubBand(863.0, 865.0, 0.001, rule="ETSI h1.2 0.1%"),
        SubBand(865.0, 868.0, 0.01, rule="ETSI h1.3 1%"),
        SubBand(868.0, 868.6, 0.01, rule="ETSI h1.4 (g) 1%"),
        SubBand(868.7, 869.2, 0.001, rule="ETSI h1.5 (g1) 0.1%"),
        SubBand(869.4, 869.65, 0.10, rule="ETSI h1.6 (g2) 10%"),
        SubBand(869.7, 870.0, 0.01, rule="ETSI h1.7 (g3) 1%"),
    )),
    Region("EU433", (SubBand(433.05, 434.79, 0.10, rule="ETSI h1.4 10%"),)),
    Region("US915", (SubBand(902.0, 928.0, 1.0, max_dwell_s=0.4, rule="FCC 15.247 dwell 400 ms"),)),
    Region("AU915", (SubBand(915.0, 928.0, 1.0, max_dwell_s=0.4, rule="AS/NZS 4268 dwell 400 ms"),)),
    Region("AS923", (SubBand(915.0, 928.0, 0.01, max_dwell_s=0.4, rule="AS923 1%, dwell 400 ms"),)),
    Region("IN865", (SubBand(865.0, 867.0, 1.0, rule="WPC: no duty-cycle rule"),)),
    Region("KR920", (SubBand(920.9, 923.3, 0.01, rule="KR920 1% (instead of LBT)"),)),
    Region("CN470", (SubBand(470.0, 510.0, 0.01, rule="CN470 1%"),)),
)}


def region(name: str) -> Region:
    try:
        return REGIONS[name.upper()]
    except KeyError:
        raise MeshError(f"unknown region {name!r}; known: {', '.join(REGIONS)}") from None


class AirtimeLedger:
    """Transmissions of the last hour for one sub-band, and the decision whether the next one may go.

    ``path`` keeps the ledger across restarts (a reboot must not reset the legal limit); ``None`` keeps it in
    memory, as the simulator does.
    """

    def __init__(self, band: SubBand, path: Path | None = None):
        self.band = band
        self.path = path
        self._entries: deque[tuple[float, float]] = deque()  # (start, seconds), in start order
        if path is not None and path.exists():
            self._load(path)

    @property
    def limit_s(self) -> float:
        return self.band.duty_cycle * WINDOW_S

    def allowance_s(self, emergency: bool) -> float:
        return self.limit_s if emergency else self.limit_s * ROUTINE_SHARE

    def used_s(self, window_end: float) -> float:
        """Airtime inside (window_end − 60 min, window_end]."""
        start = window_end - WINDOW_S
        return sum(max(0.0, min(s + d, window_end) - max(s, start)) for s, d in self._entries)

    def check(self, now: float, seconds: float, emergency: bool) -> None:
        """Raise :class:`DutyCycleExceeded` unless a frame of ``seconds`` may start at ``now``."""
        dwell = self.band.max_dwell_s
        if dwell is not None and seconds > dwell:
            raise DutyCycleExceeded(
                f"a {seconds * 1000:.0f} ms frame exceeds the {dwell * 1000:.0f} ms dwell time "
                f"({self.band.rule}); use a faster spreading factor or a shorter payload")
        self._forget(now)
        allowance = self.allowance_s(emergency)
        if self.used_s(now + seconds) + seconds > allowance + 1e-9:
            kind = "emergency" if emergency else "routine"
            raise DutyCycleExceeded(
                f"{kind} airtime allowance of {allowance:.1f} s per hour used up ({self.band.rule});"
                f" next slot in {self.wait_s(now, seconds, emergency):.0f} s")

    def may_send(self, now: float, seconds: float, emergency: bool) -> bool:
        try:
            self.check(now, seconds, emergency)
        except DutyCycleExceeded:
            return False
        return True

    def wait_s(self, now: float, seconds: float, emergency: bool) -> float:
        """Shortest wait after which a frame of ``seconds`` fits the allowance (inf if it never will)."""
        allowance = self.allowance_s(emergency)
        if seconds > allowance:
            return float("inf")
        self._forget(now)

        def fits(start: float) -> bool:
            return self.used_s(start + seconds) + seconds <= allowance + 1e-9

        if fits(now):
            return 0.0
        # Every recorded transmission started before now, so the airtime inside the window only falls as
        # the window slides on: binary search the moments an old transmission slides out of it.
        candidates = sorted(s + d + WINDOW_S - seconds for s, d in self._entries)
        candidates = [c for c in candidates if c > now]
        low, high = 0, len(candidates) - 1
        if not candidates or not fits(candidates[-1]):
            return WINDOW_S
        while low < high:
            middle = (low + high) // 2
            if fits(candidates[middle]):
                high = middle
            else:
                low = middle + 1
        return candidates[low] - now

    def record(self, start: float, seconds: float) -> None:
        self._entries.append((start, seconds))
        self._forget(start)
        if self.path is not None:
            self._save(self.path)

    def utilisation(self, now: float) -> float:
        """Fraction of the legal allowance used in the window ending now."""
        return self.used_s(now) / self.limit_s if self.limit_s else 0.0

    def _forget(self, now: float) -> None:
        if self._entries and self._entries[-1][0] > now:
            # The wall clock went back (a kit without RTC, fake-hwclock, then a manual fix): keep what was
            # sent within the next hour by moving those entries to end now, rather than forgetting them.
            self._entries = deque((min(s, now - d), d) for s, d in self._entries)
        while self._entries and self._entries[0][0] + self._entries[0][1] <= now - WINDOW_S:
            self._entries.popleft()

    def _load(self, path: Path) -> None:
        try:
            entries = json.loads(path.read_text())
            self._entries = deque((float(s), float(d)) for s, d in entries)
        except (OSError, ValueError, TypeError) as exc:
            # Losing the ledger could break the legal limit: refuse rather than start from zero.
            raise MeshError(f"airtime ledger {path} unreadable ({exc}); "
                            "remove it only after an hour of radio silence") from None

    def _save(self, path: Path) -> None:
        atomic_write(path, json.dumps(list(self._entries)))


def max_window_airtime(transmissions: list[tuple[float, float]]) -> float:
    """The largest airtime inside any 60-minute window (exact: evaluated where windows can peak)."""
    ends = [s + d for s, d in transmissions]
    best = 0.0
    for end in ends:
        start = end - WINDOW_S
        best = max(best, sum(max(0.0, min(s + d, end) - max(s, start)) for s, d in transmissions))
    return best
