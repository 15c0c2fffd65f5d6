"""A register-level INA219 behind smbus2's word and block calls, for the driver's unit tests.

It keeps the chip's six 16-bit registers and recomputes them from a "true" battery the test sets, as the chip
does after each conversion: shunt voltage in 10 µV steps clipped to the gain's range, bus voltage in 4 mV
steps with the conversion-ready and overflow bits, current = shunt × calibration / 4096, power = current ×
bus / 5000. Words travel like real SMBus word transfers: the chip sends its most significant byte first, SMBus
calls that byte the low one, so ``read_word_data`` returns the register byte-swapped.
"""

from __future__ import annotations

import errno

POWER_ON_CONFIGURATION = 0x399F
PGA_LIMITS_COUNTS = (4000, 8000, 16000, 32000)  # ±40, 80, 160, 320 mV in 10 µV counts


class FakeIna219Bus:
    def __init__(self, address: int = 0x40):
        self.address = address
        self.registers = [POWER_ON_CONFIGURATION, 0, 0, 0, 0, 0]
        self.shunt_v = 0.0  # VIN+ − VIN−
        self.in_minus_v = 0.0  # bus voltage, VIN− to ground
        self.fail_next: OSError | None = None
        self.writes: list[tuple[int, int]] = []
        self.closed = False

    # --- what the test controls -------------------------------------------------------------------------
    def measure(self, *, in_minus_v: float, shunt_v: float) -> None:
        self.in_minus_v, self.shunt_v = in_minus_v, shunt_v
        self._convert()

    def brown_out(self) -> None:
        """Power glitch: the chip forgets its configuration and calibration."""
        self.registers = [POWER_ON_CONFIGURATION, 0, 0, 0, 0, 0]
        self._convert()

    # --- smbus2.SMBus ---------------------------------------------------------------------------------------
    def read_word_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int:
        value = self._register(i2c_addr, register)
        return ((value & 0xFF) << 8) | (value >> 8)

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int, force: bool | None = None) -> list[int]:
        value = self._register(i2c_addr, register)
        return [value >> 8, value & 0xFF][:length]

    def write_word_data(self, i2c_addr: int, register: int, value: int, force: bool | None = None) -> None:
        self._check(i2c_addr, register)
        word = ((value & 0xFF) << 8) | ((value >> 8) & 0xFF)
        self.writes.append((register, word))
        if register == 0:
            if word & 0x8000:
                self.brown_out()
                return
            self.registers[0] = word
        elif register == 5:
            self.registers[5] = word & 0xFFFE
        else:
            raise OSError(errno.EIO, "read-only register")
        self._convert()

    def close(self) -> None:
        self.closed = True

    # --- the chip -------------------------------------------------------------------------------------------
    def _register(self, i2c_addr: int, register: int) -> int:
        self._check(i2c_addr, register)
        return self.registers[register]

    def _check(self, i2c_addr: int, register: int) -> None:
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        if i2c_addr != self.address:
            raise OSError(errno.EREMOTEIO, "Remote I/O error")
        if not 0 <= register <= 5:
            raise OSError(errno.EIO, "Input/output error")

    def _convert(self) -> None:
        limit = PGA_LIMITS_COUNTS[(self.registers[0] >> 11) & 0b11]
        shunt = max(-limit, min(limit, round(self.shunt_v / 10e-6)))
        bus = max(0, min(0x1FFF, round(self.in_minus_v / 0.004)))
        calibration = self.registers[5]
        current = int(shunt * calibration / 4096)
        overflow = not -0x8000 <= current <= 0x7FFF
        power = abs(current) * bus // 5000
        self.registers[1] = shunt & 0xFFFF
        self.registers[2] = (bus << 3) | 0b10 | int(overflow)
        self.registers[4] = 0 if overflow else current & 0xFFFF
        self.registers[3] = 0 if overflow else min(power, 0xFFFF)
