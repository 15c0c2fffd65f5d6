"""What every power source reports, and the base class that keeps its lifecycle and its fault handling.

Like a labgrid driver, a source does no I/O in its constructor: :meth:`open` acquires the device, :meth:`close`
releases it (idempotent), and drivers fill two hooks, ``_open`` and ``_read``. The base class turns every
reading fault into an unknown reading and logs it once per distinct problem, so a flaky gauge can never
crash or flood the agent.
"""

from __future__ import annotations

import abc
import logging
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Self

from evy.power.errors import PowerError, PowerReadError

log = logging.getLogger("evy.power")


@dataclass(frozen=True)
class PowerReading:
    """One look at the battery. ``None`` always means "not known", never zero.

    ``amps`` and ``watts`` are positive while the battery charges and negative while it discharges.
    """

    source: str
    battery_pct: int | None = None
    charging: bool | None = None
    external_power: bool | None = None  # mains, USB or a charger is connected
    volts: float | None = None
    amps: float | None = None
    watts: float | None = None
    problem: str | None = None  # why some or all of the reading is unknown

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Resources:
    """A snapshot of what the kit has to spend: the battery reading and free memory (None: unknown)."""

    power: PowerReading
    free_mb: int | None

    @property
    def battery_pct(self) -> int | None:
        return self.power.battery_pct

    def to_dict(self) -> dict[str, Any]:
        return {"power": self.power.to_dict(), "free_mb": self.free_mb}


class PowerSource(abc.ABC):
    """A battery monitor. Open it (or use it as a context manager), then :meth:`read` as often as needed."""

    name: ClassVar[str]

    def __init__(self) -> None:
        self._opened = False
        self._last_problem: str | None = None

    @classmethod
    @abc.abstractmethod
    def from_config(cls, config: Any) -> Self:
        """The source as the ``[power]`` settings describe it (not yet opened)."""

    def open(self) -> None:
        """Acquire the device; raises :class:`PowerUnavailable` with what to fix. Idempotent."""
        if not self._opened:
            self._open()
            self._opened = True

    def close(self) -> None:
        if self._opened:
            self._opened = False
            self._close()

    def read(self) -> PowerReading:
        """The current reading; any fault becomes an unknown reading with ``problem`` set, never an exception."""
        if not self._opened:
            raise PowerError(f"power source {self.name!r} read before open()")
        try:
            reading = self._read()
        except (OSError, ValueError, PowerReadError) as exc:
            reading = PowerReading(source=self.name, problem=_one_line(exc))
        self._report(reading.problem)
        return reading

    def _report(self, problem: str | None) -> None:
        if problem and problem != self._last_problem:
            log.warning("power %s: %s; counting it as unknown", self.name, problem)
        elif self._last_problem and not problem:
            log.info("power %s: readings are back", self.name)
        self._last_problem = problem

    def _open(self) -> None:
        """Hook: acquire the device (a source without one has nothing to do)."""
        return

    def _close(self) -> None:
        """Hook: release the device."""
        return

    @abc.abstractmethod
    def _read(self) -> PowerReading:
        """Hook: one reading; may raise OSError, ValueError or PowerReadError."""

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror}{where}"
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
