"""The monitor that takes snapshots of what the kit has to spend (battery and free memory) cheaply, and the
budget it decides from them (the snapshot type lives in :mod:`evy.power.reading`, the rules in
:mod:`evy.power.policy`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from evy.power.errors import PowerError
from evy.power.memory import MEMINFO, available_mb
from evy.power.policy import Budget, decide
from evy.power.reading import PowerReading, PowerSource, Resources

log = logging.getLogger("evy.power")

MAX_AGE_S = 5.0  # a gauge changes slowly; reading it per message would only add I2C traffic


class ResourceMonitor:
    """Owns a power source; snapshots are cached for ``max_age`` seconds; safe to share between threads."""

    def __init__(self, source: PowerSource, config: Any, *, meminfo: Path = MEMINFO, max_age: float = MAX_AGE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.source, self.config = source, config
        self.meminfo, self.max_age, self.clock = meminfo, max_age, clock
        self._lock = threading.Lock()
        self._cached: tuple[float, Resources] | None = None
        self._budget: Budget | None = None

    def snapshot(self) -> Resources:
        with self._lock:
            now = self.clock()
            if self._cached is None or now - self._cached[0] >= self.max_age:
                self._cached = now, Resources(self._read_power(), available_mb(self.meminfo))
            return self._cached[1]

    def _read_power(self) -> PowerReading:
        try:
            self.source.open()
        except PowerError as exc:
            return PowerReading(source=self.source.name, problem=str(exc))
        return self.source.read()

    def budget(self, reclaimable_mb: int = 0) -> Budget:
        """The current budget. ``reclaimable_mb``: memory the model already holds, which it would not need
        again, counted as free (otherwise a loaded model would forbid itself)."""
        resources = self.snapshot()
        if reclaimable_mb and resources.free_mb is not None:
            resources = replace(resources, free_mb=resources.free_mb + reclaimable_mb)
        with self._lock:
            budget = decide(resources, self.config, self._budget)
            if self._budget is None or budget.mode != self._budget.mode:
                log.info("power budget: %s (%s)", budget.mode, budget.reason)
            self._budget = budget
        return budget

    def close(self) -> None:
        self.source.close()
