"""Wiring of common SX1276/RFM95 boards for the Raspberry Pi (BCM GPIO numbers).

Selected with ``mesh.hat``; any pin can be overridden with ``mesh.pin_*``. ``cs_gpio`` is set for boards
whose chip select is not a hardware CE line: the driver then drives it as a GPIO around each transfer.
Check against the board's schematic before first use; the HIL bench confirms them on real boards.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PinMap:
    spi_bus: int
    spi_device: int  # CE line of the SPI controller
    reset: int | None
    dio0: int  # RxDone / TxDone / CadDone
    dio1: int | None = None  # RxTimeout / CadDetected
    cs_gpio: int | None = None
    description: str = ""


PIN_MAPS: dict[str, PinMap] = {
    "adafruit-rfm9x": PinMap(0, 1, reset=25, dio0=22, description="Adafruit LoRa Radio Bonnet (RFM95W), CE1"),
    "dragino": PinMap(0, 0, reset=17, dio0=4, dio1=23, cs_gpio=25,
                      description="Dragino LoRa/GPS HAT: NSS on GPIO25, not a CE line"),
    "uputronics-ce0": PinMap(0, 0, reset=None, dio0=25, description="Uputronics LoRa expansion board, CE0 slot"),
    "uputronics-ce1": PinMap(0, 1, reset=None, dio0=16, description="Uputronics LoRa expansion board, CE1 slot"),
    "pysx127x": PinMap(0, 0, reset=17, dio0=22, dio1=23,
                       description="the pySX127x reference wiring (DIO0-3 on GPIO22-25)"),
}
