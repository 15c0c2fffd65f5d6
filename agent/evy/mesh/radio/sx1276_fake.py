"""A register-level SX1276 twin: the SPI register file, FIFO, modes and IRQ flags as the data sheet
describes them, and a DIO0 line. The driver runs against it unchanged.

``inject`` puts a received packet into the FIFO (as the modem would on RxDone); a transmission is recorded
in ``sent`` when the driver switches to TX mode; CAD reports ``channel_active``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from evy.mesh.radio import sx1276_regs as R

_DEFAULTS = {R.OP_MODE: 0x09, R.VERSION: R.CHIP_VERSION, R.FIFO_TX_BASE_ADDR: 0x80, R.PA_CONFIG: 0x4F,
             R.MODEM_CONFIG_1: 0x72, R.MODEM_CONFIG_2: 0x70, R.PREAMBLE_LSB: 0x08, R.SYNC_WORD: 0x12,
             R.PAYLOAD_LENGTH: 0x01}


class FakeSX1276:
    """Implements both ports the driver uses: ``transfer`` (SPI) and ``set_reset``/``wait_dio0`` (GPIO)."""

    def __init__(self, version: int = R.CHIP_VERSION):
        self.version = version
        self.registers = bytearray(0x80)
        self.fifo = bytearray(R.FIFO_SIZE)
        self.sent: list[bytes] = []
        self.on_air: Callable[[bytes], None] | None = None  # joins fakes into one "air" (contract tests)
        self.channel_active = False  # CAD detects a preamble
        self.receiving = False  # the modem is locked onto an incoming frame (RegModemStat)
        self.mode_log: list[int] = []
        self.closed = False
        self.resets = 0
        self._dio0 = threading.Event()
        self._reset_defaults()

    def _reset_defaults(self) -> None:
        self.registers[:] = bytes(0x80)
        for register, value in _DEFAULTS.items():
            self.registers[register] = value
        self.registers[R.VERSION] = self.version

    # SPI -----------------------------------------------------------------------------------------------
    def transfer(self, data: list[int]) -> list[int]:
        if self.closed:
            raise OSError("SPI closed")
        address, payload = data[0] & 0x7F, data[1:]
        if data[0] & R.WRITE:
            for offset, value in enumerate(payload):
                self._write(address if address == R.FIFO else address + offset, value)
            return [0] * len(data)
        return [0] + [self._read(address if address == R.FIFO else address + offset)
                      for offset in range(len(payload))]

    def _read(self, register: int) -> int:
        if register == R.MODEM_STAT:
            return 0x10 | (0x0B if self.receiving else 0)  # modem clear unless receiving
        if register == R.FIFO:
            pointer = self.registers[R.FIFO_ADDR_PTR]
            self.registers[R.FIFO_ADDR_PTR] = (pointer + 1) & 0xFF
            return self.fifo[pointer]
        return self.registers[register]

    def _write(self, register: int, value: int) -> None:
        if register == R.FIFO:
            pointer = self.registers[R.FIFO_ADDR_PTR]
            self.fifo[pointer] = value
            self.registers[R.FIFO_ADDR_PTR] = (pointer + 1) & 0xFF
        elif register == R.IRQ_FLAGS:
            self.registers[R.IRQ_FLAGS] &= ~value & 0xFF
        elif register == R.VERSION:
            pass  # read-only
        elif register == R.OP_MODE:
            self._set_mode(value)
        else:
            self.registers[register] = value

    def _set_mode(self, value: int) -> None:
        old = self.registers[R.OP_MODE]
        if (value ^ old) & R.LONG_RANGE and old & R.MODE_MASK != R.MODE_SLEEP:
            value = (value & ~R.LONG_RANGE) | (old & R.LONG_RANGE)  # LongRangeMode changes only in sleep
        self.registers[R.OP_MODE] = value
        mode = value & R.MODE_MASK
        self.mode_log.append(mode)
        if mode == R.MODE_TX:
            base, length = self.registers[R.FIFO_TX_BASE_ADDR], self.registers[R.PAYLOAD_LENGTH]
            frame = bytes(self.fifo[(base + i) & 0xFF] for i in range(length))
            self.sent.append(frame)
            if self.on_air is not None:
                self.on_air(frame)
            self._raise_irq(R.IRQ_TX_DONE, R.DIO0_TX_DONE)
            self.registers[R.OP_MODE] = (value & ~R.MODE_MASK) | R.MODE_STDBY
        elif mode == R.MODE_CAD:
            flags = R.IRQ_CAD_DONE | (R.IRQ_CAD_DETECTED if self.channel_active else 0)
            self._raise_irq(flags, R.DIO0_CAD_DONE)
            self.registers[R.OP_MODE] = (value & ~R.MODE_MASK) | R.MODE_STDBY

    def _raise_irq(self, flags: int, dio0_mapping: int) -> None:
        self.registers[R.IRQ_FLAGS] |= flags
        if self.registers[R.DIO_MAPPING_1] & R.DIO0_MASK == dio0_mapping:
            self._dio0.set()

    # the air side ----------------------------------------------------------------------------------------
    @property
    def mode(self) -> int:
        return self.registers[R.OP_MODE] & R.MODE_MASK

    @property
    def lora(self) -> bool:
        return bool(self.registers[R.OP_MODE] & R.LONG_RANGE)

    def inject(self, frame: bytes, rssi_dbm: float = -80.0, snr_db: float = 7.5, crc_ok: bool = True,
               crc_on: bool = True) -> bool:
        """Receive ``frame`` as the modem would; False if the chip was not listening."""
        if self.mode not in (R.MODE_RX_CONTINUOUS, R.MODE_RX_SINGLE) or not self.lora:
            return False
        base = self.registers[R.FIFO_RX_BASE_ADDR]
        for i, byte in enumerate(frame):
            self.fifo[(base + i) & 0xFF] = byte
        self.registers[R.FIFO_RX_CURRENT_ADDR] = base
        self.registers[R.RX_NB_BYTES] = len(frame)
        self.registers[R.PKT_SNR_VALUE] = round(snr_db * 4) & 0xFF
        raw = rssi_dbm + 157 - (snr_db if snr_db < 0 else 0)
        self.registers[R.PKT_RSSI_VALUE] = max(0, min(255, round(raw * 15 / 16 if snr_db >= 0 else raw)))
        self.registers[R.HOP_CHANNEL] = R.HOP_CHANNEL_CRC_ON if crc_on else 0
        flags = R.IRQ_RX_DONE | R.IRQ_VALID_HEADER | (0 if crc_ok else R.IRQ_PAYLOAD_CRC_ERROR)
        self._raise_irq(flags, R.DIO0_RX_DONE)
        return True

    # GPIO ------------------------------------------------------------------------------------------------
    def set_reset(self, level: bool) -> None:
        if not level:
            self.resets += 1
            self._reset_defaults()

    def wait_dio0(self, timeout_s: float) -> bool:
        fired = self._dio0.wait(timeout_s)
        self._dio0.clear()
        return fired

    def close(self) -> None:
        self.closed = True

    def ports(self) -> tuple[FakeSX1276, FakeSX1276]:
        return self, self
