"""``power.source = "sysfs"``: the kernel's power_supply class (/sys/class/power_supply/*/).

Fuel-gauge HATs with a kernel driver (and laptops, handy on a dev machine) appear there. Each supply is a
directory with a ``type`` file: ``Battery`` supplies give ``capacity`` (%), ``status`` and ``voltage_now``,
``current_now`` and ``power_now`` in µV, µA and µW; ``Mains``/``USB`` supplies give ``online``. Batteries of
``scope`` ``Device`` (a wireless mouse) are not the kit's. No battery directory means unknown, not 0%.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from evy.power.errors import PowerReadError
from evy.power.reading import PowerReading, PowerSource

DEFAULT_ROOT = Path("/sys/class/power_supply")
EXTERNAL_TYPES = ("Mains", "USB", "Wireless")


@dataclass(frozen=True)
class _Battery:
    pct: int | None
    status: str | None
    volts: float | None
    amps: float | None
    watts: float | None
    energy_full: float | None  # weights batteries of different size when there are several


class SysfsSource(PowerSource):
    name = "sysfs"

    def __init__(self, root: Path | str = DEFAULT_ROOT) -> None:
        super().__init__()
        self.root = Path(root)

    @classmethod
    def from_config(cls, config: Any) -> Self:
        return cls(config["power.sysfs_root"])

    def _read(self) -> PowerReading:
        batteries: list[_Battery] = []
        external: bool | None = None
        problems: list[str] = []
        for supply in sorted(self.root.iterdir()) if self.root.is_dir() else ():
            kind = None
            try:
                kind = _text(supply / "type")
                if kind == "Battery":
                    battery = _battery(supply)
                    if battery is not None:
                        batteries.append(battery)
                elif kind in EXTERNAL_TYPES and (supply / "online").exists():
                    external = bool(external) or _integer(supply / "online") == 1
            except (OSError, ValueError) as exc:
                problems.append(f"{supply.name}: {_why(exc)}")
                if kind == "Battery":  # a battery we cannot read still makes the total unknown
                    batteries.append(_Battery(None, None, None, None, None, None))
        if not batteries:
            return PowerReading(source=self.name, external_power=external, problem="; ".join(problems) or None)
        pct = _combined_pct(batteries)
        if pct is None and not problems:
            problems.append("no battery reports capacity or energy")
        statuses = {b.status for b in batteries}
        charging = True if "Charging" in statuses else None if statuses <= {None, "Unknown"} else False
        if external is None and statuses & {"Charging", "Full"}:
            external = True
        first = batteries[0]
        return PowerReading(source=self.name, battery_pct=pct, charging=charging, external_power=external,
                            volts=first.volts, amps=first.amps, watts=first.watts,
                            problem="; ".join(problems) or None)


def _battery(supply: Path) -> _Battery | None:
    if _optional(supply / "scope", _text) == "Device" or _optional(supply / "present", _integer) == 0:
        return None
    status = _optional(supply / "status", _text)
    pct = _optional(supply / "capacity", _integer)
    if pct is not None and pct < 0:
        raise PowerReadError(f"capacity {pct} is negative")
    energy_now, energy_full = _energy(supply)
    if pct is None and energy_now is not None and energy_full:
        pct = round(100 * energy_now / energy_full)
    volts = _scaled(supply / "voltage_now")
    amps = _scaled(supply / "current_now")
    watts = _scaled(supply / "power_now")
    # Drivers disagree on the sign of current_now; the status says which way it flows.
    sign = {"Charging": 1, "Discharging": -1}.get(status or "", 0)
    if sign:
        amps = None if amps is None else sign * abs(amps)
        watts = None if watts is None else sign * abs(watts)
    if watts is None and volts is not None and amps is not None:
        watts = volts * amps
    return _Battery(None if pct is None else min(pct, 100), status, volts, amps, watts, energy_full)


def _energy(supply: Path) -> tuple[float | None, float | None]:
    """(now, full) in µWh, else µAh, whichever pair the driver has (either may be None)."""
    for now, full in (("energy_now", "energy_full"), ("charge_now", "charge_full")):
        pair = _scaled(supply / now), _scaled(supply / full)
        if pair != (None, None):
            return pair
    return None, None


def _combined_pct(batteries: list[_Battery]) -> int | None:
    known = [b for b in batteries if b.pct is not None]
    if not known or len(known) < len(batteries):
        return None  # one unreadable battery of two: the total is not known
    weights = [b.energy_full or 0.0 for b in known]
    if all(weights):
        return round(sum(b.pct * w for b, w in zip(known, weights, strict=True)) / sum(weights))
    return round(sum(b.pct for b in known) / len(known))


def _text(path: Path) -> str:
    return path.read_text(encoding="ascii", errors="strict").strip()


def _integer(path: Path) -> int:
    text = _text(path)
    try:
        return int(text)
    except ValueError:
        raise PowerReadError(f"{path.name} holds {text[:20]!r}, not a whole number") from None


def _scaled(path: Path) -> float | None:
    """A micro-unit file (µV, µA, µW, µWh, µAh) in base units; None when the driver has no such file."""
    value = _optional(path, _integer)
    return None if value is None else value / 1_000_000


def _optional(path: Path, parse: Any) -> Any:
    try:
        return parse(path)
    except FileNotFoundError:
        return None


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror} reading {Path(exc.filename).name if exc.filename else 'a file'}"
    if isinstance(exc, UnicodeDecodeError):
        return "a file holds bytes that are not text"
    return str(exc)
