"""``power.source = "ina219"``: a TI INA219 current/voltage monitor on I2C, in line with the battery.

The chip measures the voltage across a shunt resistor (10 µV steps) and the bus voltage at VIN− (4 mV steps);
once its calibration register is programmed it also reports current. State of charge is estimated from the
battery's voltage with the configured pack's curve (:mod:`evy.power.curves`).

Registers are 16-bit and sent most significant byte first, while SMBus word transfers are little-endian, so
every word is byte-swapped on the way in and out. smbus2 is imported only when this source is opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Self

from evy.power.curves import curve
from evy.power.errors import PowerError, PowerReadError, PowerUnavailable
from evy.power.reading import PowerReading, PowerSource

CONFIGURATION, SHUNT_VOLTAGE, BUS_VOLTAGE, POWER, CURRENT, CALIBRATION = range(6)
RESET = 0x8000
SHUNT_LSB_V = 10e-6
BUS_LSB_V = 0.004
CONVERSION_READY, MATH_OVERFLOW = 0x0002, 0x0001
CAL_SCALE = 0.04096  # the datasheet's fixed constant: Cal = trunc(0.04096 / (current_LSB × R_shunt))
PGA_RANGES_V = (0.04, 0.08, 0.16, 0.32)  # gain /1, /2, /4, /8
CHARGE_DEADBAND_A = 0.02  # below this the battery is neither charging nor discharging in any useful sense
NO_BATTERY_V = 0.5


class SMBusLike(Protocol):
    """The part of smbus2.SMBus this driver uses (the tests' register fake provides the same)."""

    def read_word_data(self, i2c_addr: int, register: int) -> int: ...

    def write_word_data(self, i2c_addr: int, register: int, value: int) -> None: ...


@dataclass(frozen=True)
class Calibration:
    value: int  # written to the calibration register
    current_lsb: float  # amps per count of the current register
    pga: int  # 0–3: gain /1, /2, /4, /8

    @property
    def configuration(self) -> int:
        """32 V bus range, the gain, 12-bit samples averaged ×128 on both ADCs, continuous shunt and bus."""
        return (1 << 13) | (self.pga << 11) | (0b1111 << 7) | (0b1111 << 3) | 0b111


def calibrate(shunt_ohms: float, max_amps: float) -> Calibration:
    """The calibration for a shunt and the largest current expected (finest resolution that holds it)."""
    shunt_max_v = shunt_ohms * max_amps * (1 - 1e-9)  # 3.2 A × 0.1 Ω is 0.32 V, not 0.32000000000000006
    if not (shunt_ohms > 0 and max_amps > 0) or shunt_max_v > PGA_RANGES_V[-1]:
        raise ValueError(f"{max_amps} A through {shunt_ohms} Ω drops {shunt_max_v:.3f} V; the INA219 measures at "
                         f"most {PGA_RANGES_V[-1]} V: use a smaller shunt or a lower power.max_amps")
    pga = next(i for i, limit in enumerate(PGA_RANGES_V) if shunt_max_v <= limit)
    value = min(int(CAL_SCALE / (max_amps / 32767 * shunt_ohms)), 0xFFFE) & 0xFFFE  # bit 0 does not exist
    return Calibration(value, CAL_SCALE / (value * shunt_ohms), pga)


def swap16(word: int) -> int:
    return ((word & 0xFF) << 8) | (word >> 8)


def signed16(word: int) -> int:
    return word - 0x10000 if word & 0x8000 else word


def bus_volts(raw: int) -> float:
    return (raw >> 3) * BUS_LSB_V


def shunt_volts(raw: int) -> float:
    return signed16(raw) * SHUNT_LSB_V


class Ina219Source(PowerSource):
    name = "ina219"

    def __init__(self, *, bus: int | SMBusLike = 1, address: int = 0x40, shunt_ohms: float = 0.1,
                 max_amps: float = 3.2, pack: str = "lead-acid-12v", battery_pin: str = "vin+") -> None:
        super().__init__()
        try:
            self.calibration = calibrate(shunt_ohms, max_amps)
            self.curve = curve(pack)
        except ValueError as exc:
            raise PowerError(f"power: {exc}") from None
        if battery_pin not in ("vin+", "vin-"):
            raise PowerError(f"power.battery_pin must be vin+ or vin-, got {battery_pin!r}")
        self.bus, self.address, self.shunt_ohms = bus, address, shunt_ohms
        self.battery_pin = battery_pin
        self._smbus: Any = None
        self._owns_bus = False

    @classmethod
    def from_config(cls, config: Any) -> Self:
        return cls(bus=config["power.i2c_bus"], address=config["power.i2c_address"],
                   shunt_ohms=config["power.shunt_ohms"], max_amps=config["power.max_amps"],
                   pack=config["power.pack"], battery_pin=config["power.battery_pin"])

    @property
    def where(self) -> str:
        bus = f"/dev/i2c-{self.bus}" if isinstance(self.bus, int) else "the I2C bus"
        return f"INA219 at {self.address:#04x} on {bus}"

    def _open(self) -> None:
        if not isinstance(self.bus, int):
            self._smbus = self.bus
            return
        try:
            from smbus2 import SMBus
        except ImportError:
            raise PowerUnavailable("power.source = \"ina219\" needs the smbus2 package: pip install smbus2") from None
        try:
            self._smbus = SMBus(self.bus)
        except OSError as exc:
            raise PowerUnavailable(f"cannot open /dev/i2c-{self.bus} ({exc.strerror}); enable I2C on a Pi with "
                                   f"dtparam=i2c_arm=on in config.txt") from None
        self._owns_bus = True

    def _close(self) -> None:
        if self._owns_bus and self._smbus is not None:
            self._smbus.close()
        self._smbus, self._owns_bus = None, False

    def _read(self) -> PowerReading:
        try:
            return self._measure()
        except OSError as exc:
            raise PowerReadError(f"no answer from the {self.where} ({exc.strerror or exc}); check the wiring "
                                 f"and the address with i2cdetect") from exc

    def _measure(self) -> PowerReading:
        # A brown-out resets the chip (calibration 0, current register 0): program it again and, for this one
        # reading, take the current from the shunt voltage instead of the not yet recomputed register.
        fresh = self._register(CALIBRATION) != self.calibration.value
        if fresh:
            self._write(CONFIGURATION, self.calibration.configuration)
            self._write(CALIBRATION, self.calibration.value)
        bus_raw = self._register(BUS_VOLTAGE)
        shunt_v = shunt_volts(self._register(SHUNT_VOLTAGE))
        in_minus_v = bus_volts(bus_raw)
        problem = None
        # The shunt ADC saturates silently at its gain's limit; the overflow bit is for the current register.
        if bus_raw & MATH_OVERFLOW or abs(shunt_v) >= PGA_RANGES_V[self.calibration.pga] - SHUNT_LSB_V / 2:
            amps, problem = None, f"current beyond the {self.where}'s range; raise power.max_amps"
        elif fresh:
            amps = shunt_v / self.shunt_ohms
        else:
            amps = signed16(self._register(CURRENT)) * self.calibration.current_lsb
        # Shunt current is positive from VIN+ to VIN−: out of a battery on VIN+, into a battery on VIN−.
        on_plus = self.battery_pin == "vin+"
        volts = in_minus_v + shunt_v if on_plus else in_minus_v
        if amps is not None and on_plus:
            amps = -amps
        if volts < max(NO_BATTERY_V, self.curve.empty_volts / 2):
            return PowerReading(source=self.name, volts=round(volts, 3),
                                problem=f"{self.where} reads {volts:.2f} V: no battery connected?")
        watts = None if amps is None else round(volts * amps, 3)
        return PowerReading(
            source=self.name, battery_pct=self.curve.percent(volts),
            charging=None if amps is None else amps > CHARGE_DEADBAND_A,
            volts=round(volts, 3), amps=None if amps is None else round(amps, 4), watts=watts, problem=problem)

    def _register(self, register: int) -> int:
        return swap16(self._smbus.read_word_data(self.address, register))

    def _write(self, register: int, value: int) -> None:
        self._smbus.write_word_data(self.address, register, swap16(value))

