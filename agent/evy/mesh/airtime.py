"""Exact LoRa time on air (Semtech AN1200.13, "LoRa Modem Designer's Guide", section 4).

T_sym = 2^SF / BW
T_preamble = (n_preamble + 4.25) · T_sym
n_payload = 8 + max(ceil((8·PL − 4·SF + 28 + 16·CRC − 20·IH) / (4·(SF − 2·DE))) · (CR + 4), 0)
with CR 1..4 for coding rates 4/5..4/8, IH = 1 for implicit header, DE = 1 with low-data-rate optimisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from evy.mesh.errors import AirtimeError

BANDWIDTHS_HZ = (7_800, 10_400, 15_600, 20_800, 31_250, 41_700, 62_500, 125_000, 250_000, 500_000)
# The SX127x data sheet requires low-data-rate optimisation when a symbol lasts 16 ms or longer.
LDRO_SYMBOL_S = 0.016


@dataclass(frozen=True)
class Modulation:
    """LoRa modem parameters. ``coding_rate`` is the denominator: 5 means 4/5 … 8 means 4/8."""

    spreading_factor: int = 9
    bandwidth_hz: int = 125_000
    coding_rate: int = 5
    preamble: int = 16
    explicit_header: bool = True
    crc: bool = True
    low_data_rate: bool | None = None  # None: on exactly when the data sheet requires it

    def __post_init__(self) -> None:
        if not 6 <= self.spreading_factor <= 12:
            raise AirtimeError(f"spreading factor must be 6..12, got {self.spreading_factor}")
        if self.bandwidth_hz not in BANDWIDTHS_HZ:
            khz = ", ".join(f"{b / 1000:g}" for b in BANDWIDTHS_HZ)
            raise AirtimeError(f"bandwidth must be one of {khz} kHz, got {self.bandwidth_hz / 1000:g} kHz")
        if not 5 <= self.coding_rate <= 8:
            raise AirtimeError(f"coding rate must be 5..8 (4/5..4/8), got {self.coding_rate}")
        if not 6 <= self.preamble <= 65535:
            raise AirtimeError(f"preamble must be 6..65535 symbols, got {self.preamble}")

    @property
    def symbol_s(self) -> float:
        return (1 << self.spreading_factor) / self.bandwidth_hz

    @property
    def ldro(self) -> bool:
        if self.low_data_rate is not None:
            return self.low_data_rate
        return self.symbol_s >= LDRO_SYMBOL_S

    def payload_symbols(self, payload_bytes: int) -> int:
        if not 0 <= payload_bytes <= 255:
            raise AirtimeError(f"payload must be 0..255 bytes, got {payload_bytes}")
        sf, de = self.spreading_factor, int(self.ldro)
        numerator = 8 * payload_bytes - 4 * sf + 28 + 16 * int(self.crc) - 20 * int(not self.explicit_header)
        blocks = math.ceil(numerator / (4 * (sf - 2 * de)))
        return 8 + max(blocks * self.coding_rate, 0)

    def time_on_air(self, payload_bytes: int) -> float:
        """Seconds from the first preamble symbol to the end of the payload CRC."""
        preamble_s = (self.preamble + 4.25) * self.symbol_s
        return preamble_s + self.payload_symbols(payload_bytes) * self.symbol_s


def time_on_air(payload_bytes: int, **modulation: object) -> float:
    return Modulation(**modulation).time_on_air(payload_bytes)  # type: ignore[arg-type]


def bandwidth_from_khz(khz: float) -> int:
    """125 → 125000, 62.5 → 62500, 7.8 → 7800 (the data sheet's rounded names)."""
    for hz in BANDWIDTHS_HZ:
        if abs(hz / 1000 - khz) < 0.06:
            return hz
    khz_list = ", ".join(f"{b / 1000:g}" for b in BANDWIDTHS_HZ)
    raise AirtimeError(f"bandwidth must be one of {khz_list} kHz, got {khz:g}")
