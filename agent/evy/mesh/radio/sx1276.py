"""SX1276 LoRa driver for a Raspberry Pi: registers over spidev, DIO0 interrupts through libgpiod.

The register logic (:class:`SX1276`) talks to two tiny ports, :class:`SpiPort` and :class:`GpioPort`, so it is
tested against the register-level fake in :mod:`evy.mesh.radio.sx1276_fake`; the real ports import spidev
and gpiod only when opened, so a kit without them runs every other backend.

Transmit: standby → FIFO pointer to the TX base → write FIFO → payload length → DIO0 = TxDone → TX; on
TxDone back to continuous receive. Receive: on RxDone check the CRC flags, read the FIFO from the current
RX address, compute packet RSSI and SNR. Before each transmission the node asks :meth:`channel_busy`,
which runs a channel activity detection (CAD).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from evy.mesh.airtime import Modulation
from evy.mesh.errors import RadioError, RadioTimeout
from evy.mesh.radio import sx1276_regs as R
from evy.mesh.radio.base import Radio, Receiver
from evy.mesh.radio.pinmaps import PIN_MAPS, PinMap

if TYPE_CHECKING:
    import asyncio

log = logging.getLogger(__name__)


class SpiPort(Protocol):
    def transfer(self, data: list[int]) -> list[int]: ...

    def close(self) -> None: ...


class GpioPort(Protocol):
    def set_reset(self, level: bool) -> None: ...

    def wait_dio0(self, timeout_s: float) -> bool:
        """Block until DIO0 rises (True) or the timeout passes (False)."""
        ...

    def close(self) -> None: ...


class SX1276:
    """Register-level operations. Not thread-safe by itself; :class:`SX1276Radio` serialises access."""

    def __init__(self, spi: SpiPort, gpio: GpioPort, sleep: Callable[[float], None] | None = None):
        import time

        self.spi, self.gpio, self._sleep = spi, gpio, sleep or time.sleep

    # register access
    def read(self, register: int) -> int:
        return self.spi.transfer([register & 0x7F, 0])[1]

    def write(self, register: int, value: int) -> None:
        self.spi.transfer([register | R.WRITE, value & 0xFF])

    def read_burst(self, register: int, count: int) -> bytes:
        return bytes(self.spi.transfer([register & 0x7F] + [0] * count)[1:])

    def write_burst(self, register: int, data: bytes) -> None:
        self.spi.transfer([register | R.WRITE, *data])

    # set-up
    def reset(self) -> None:
        self.gpio.set_reset(False)
        self._sleep(0.0001)
        self.gpio.set_reset(True)
        self._sleep(0.005)

    def configure(self, modulation: Modulation, frequency_hz: int, power_dbm: int, sync_word: int) -> None:
        version = self.read(R.VERSION)
        if version != R.CHIP_VERSION:
            raise RadioError(f"no SX1276 answering on SPI (version register 0x{version:02x}, expected "
                             f"0x{R.CHIP_VERSION:02x}); check the wiring and mesh.hat")
        self.set_mode(R.MODE_SLEEP)  # LoRa mode can only be entered from sleep
        frf = (frequency_hz << 19) // R.FXOSC_HZ
        self.write(R.FRF_MSB, frf >> 16)
        self.write(R.FRF_MID, frf >> 8)
        self.write(R.FRF_LSB, frf)
        if not 2 <= power_dbm <= 20:
            raise RadioError(f"transmit power {power_dbm} dBm outside 2..20")
        if power_dbm > 17:
            self.write(R.PA_DAC, 0x87)  # +20 dBm mode on PA_BOOST
            self.write(R.PA_CONFIG, 0x80 | (power_dbm - 5))
        else:
            self.write(R.PA_DAC, 0x84)
            self.write(R.PA_CONFIG, 0x80 | (power_dbm - 2))
        self.write(R.OCP, 0x20 | 0x0B)  # 100 mA limit
        self.write(R.LNA, 0x23)  # max gain, boost on
        bw = R.BANDWIDTH_CODES[modulation.bandwidth_hz]
        cr = modulation.coding_rate - 4
        self.write(R.MODEM_CONFIG_1, bw << 4 | cr << 1 | int(not modulation.explicit_header))
        crc = R.MODEM_CONFIG_2_CRC_ON if modulation.crc else 0
        self.write(R.MODEM_CONFIG_2, modulation.spreading_factor << 4 | crc)
        ldro = R.MODEM_CONFIG_3_LDRO if modulation.ldro else 0
        self.write(R.MODEM_CONFIG_3, R.MODEM_CONFIG_3_AGC_AUTO | ldro)
        self.write(R.PREAMBLE_MSB, modulation.preamble >> 8)
        self.write(R.PREAMBLE_LSB, modulation.preamble)
        self.write(R.SYNC_WORD, sync_word)
        self.write(R.FIFO_TX_BASE_ADDR, 0x00)
        self.write(R.FIFO_RX_BASE_ADDR, 0x00)
        self.write(R.IRQ_FLAGS, 0xFF)
        self.set_mode(R.MODE_STDBY)

    def set_mode(self, mode: int) -> None:
        self.write(R.OP_MODE, R.LONG_RANGE | mode)

    def mode(self) -> int:
        return self.read(R.OP_MODE) & R.MODE_MASK

    def map_dio0(self, mapping: int) -> None:
        self.write(R.DIO_MAPPING_1, (self.read(R.DIO_MAPPING_1) & ~R.DIO0_MASK) | mapping)

    # operations
    def start_transmit(self, frame: bytes) -> None:
        if not 1 <= len(frame) <= 255:
            raise RadioError(f"frame of {len(frame)} bytes; the SX1276 sends 1..255")
        self.set_mode(R.MODE_STDBY)
        self.write(R.FIFO_ADDR_PTR, self.read(R.FIFO_TX_BASE_ADDR))
        self.write_burst(R.FIFO, frame)
        self.write(R.PAYLOAD_LENGTH, len(frame))
        self.write(R.IRQ_FLAGS, 0xFF)
        self.map_dio0(R.DIO0_TX_DONE)
        self.set_mode(R.MODE_TX)

    def start_receive(self) -> None:
        self.write(R.IRQ_FLAGS, 0xFF)
        self.map_dio0(R.DIO0_RX_DONE)
        self.set_mode(R.MODE_RX_CONTINUOUS)

    def irq_flags(self) -> int:
        return self.read(R.IRQ_FLAGS)

    def clear_irq(self, flags: int = 0xFF) -> None:
        self.write(R.IRQ_FLAGS, flags)

    def read_packet(self, flags: int) -> tuple[bytes, float, float] | None:
        """The received frame with (RSSI dBm, SNR dB), or None when the CRC is missing or wrong."""
        if flags & R.IRQ_PAYLOAD_CRC_ERROR or not self.read(R.HOP_CHANNEL) & R.HOP_CHANNEL_CRC_ON:
            return None
        length = self.read(R.RX_NB_BYTES)
        self.write(R.FIFO_ADDR_PTR, self.read(R.FIFO_RX_CURRENT_ADDR))
        frame = self.read_burst(R.FIFO, length)
        raw_snr = self.read(R.PKT_SNR_VALUE)
        snr = (raw_snr - 256 if raw_snr > 127 else raw_snr) / 4
        raw_rssi = self.read(R.PKT_RSSI_VALUE)
        # Data sheet §5.5.5, high-frequency port (> 779 MHz; the low band's offset is −164)
        rssi = -157 + raw_rssi * 16 / 15 if snr >= 0 else -157 + raw_rssi + snr
        return frame, rssi, snr

    def receiving(self) -> bool:
        """The modem has locked onto a frame that is still coming in (RegModemStat)."""
        return bool(self.read(R.MODEM_STAT) & R.MODEM_STAT_RECEIVING)

    def channel_activity(self, timeout_s: float) -> bool:
        """Run one CAD; True when a LoRa preamble was detected."""
        self.set_mode(R.MODE_STDBY)
        self.write(R.IRQ_FLAGS, 0xFF)
        self.map_dio0(R.DIO0_CAD_DONE)
        self.set_mode(R.MODE_CAD)
        if not self.gpio.wait_dio0(timeout_s) and not self.irq_flags() & R.IRQ_CAD_DONE:
            raise RadioTimeout("SX1276 CAD did not finish; is DIO0 wired to the configured GPIO?")
        detected = bool(self.irq_flags() & R.IRQ_CAD_DETECTED)
        self.clear_irq()
        return detected

    def sleep(self) -> None:
        self.set_mode(R.MODE_SLEEP)


class SpidevPort:
    """spidev on /dev/spidevB.D, imported when opened. ``manual_cs`` leaves chip select to a GPIO."""

    def __init__(self, bus: int, device: int, speed_hz: int = 5_000_000, manual_cs: bool = False):
        try:
            import spidev  # type: ignore[import-not-found]
        except ImportError as exc:
            raise RadioError("the sx1276 radio needs the spidev package (pip install spidev)") from exc
        self._spi = spidev.SpiDev()
        try:
            self._spi.open(bus, device)
        except OSError as exc:
            raise RadioError(f"cannot open /dev/spidev{bus}.{device}: {exc.strerror}; enable SPI "
                             "(dtparam=spi=on)") from exc
        self._spi.max_speed_hz = speed_hz
        self._spi.mode = 0
        if manual_cs:
            try:
                self._spi.no_cs = True
            except OSError as exc:
                self._spi.close()
                raise RadioError(f"/dev/spidev{bus}.{device} cannot leave chip select to a GPIO: "
                                 f"{exc.strerror}") from exc

    def transfer(self, data: list[int]) -> list[int]:
        return list(self._spi.xfer2(list(data)))

    def close(self) -> None:
        self._spi.close()


class GpiodPort:
    """Reset, DIO0 and an optional chip-select line through libgpiod v2 (gpiod ≥ 2), imported when opened."""

    def __init__(self, chip: str, reset: int | None, dio0: int, cs: int | None = None):
        try:
            import gpiod  # type: ignore[import-not-found]
            from gpiod.line import Direction, Edge, Value  # type: ignore[import-not-found]
        except ImportError as exc:
            raise RadioError("the sx1276 radio needs libgpiod v2 Python bindings (pip install gpiod)") from exc
        self._value = Value
        config = {dio0: gpiod.LineSettings(direction=Direction.INPUT, edge_detection=Edge.RISING)}
        for line in (reset, cs):  # both idle high: out of reset, chip deselected
            if line is not None:
                config[line] = gpiod.LineSettings(direction=Direction.OUTPUT, output_value=Value.ACTIVE)
        try:
            self._request = gpiod.request_lines(chip, consumer="evy-mesh", config=config)
        except OSError as exc:
            raise RadioError(f"cannot claim GPIO {sorted(config)} on {chip}: {exc.strerror}") from exc
        self._reset, self._cs = reset, cs

    def set_reset(self, level: bool) -> None:
        if self._reset is not None:
            self._request.set_value(self._reset, self._value.ACTIVE if level else self._value.INACTIVE)

    def select(self, selected: bool) -> None:
        """Drive the chip-select line (active low)."""
        if self._cs is not None:
            self._request.set_value(self._cs, self._value.INACTIVE if selected else self._value.ACTIVE)

    def wait_dio0(self, timeout_s: float) -> bool:
        if self._request.wait_edge_events(timeout_s):
            self._request.read_edge_events()
            return True
        return False

    def close(self) -> None:
        self._request.release()


class ChipSelect(Protocol):
    def select(self, selected: bool) -> None: ...


class GpioSelectedSpi:
    """An SPI port whose chip select is a GPIO (boards that wire NSS to a plain pin, like Dragino's)."""

    def __init__(self, spi: SpiPort, cs: ChipSelect):
        self.spi, self.cs = spi, cs

    def transfer(self, data: list[int]) -> list[int]:
        self.cs.select(True)
        try:
            return self.spi.transfer(data)
        finally:
            self.cs.select(False)

    def close(self) -> None:
        self.spi.close()


class SX1276Radio(Radio):
    """The :class:`Radio` over an SX1276. A thread waits for DIO0 and hands frames to the receiver."""

    def __init__(self, modulation: Modulation, frequency_mhz: float, pins: PinMap, *, power_dbm: int = 14,
                 sync_word: int = 0x12, gpio_chip: str = "/dev/gpiochip0",
                 ports: Callable[[], tuple[SpiPort, GpioPort]] | None = None, irq_thread: bool = True,
                 dispatch: Callable[..., object] | None = None):
        self.modulation, self.frequency_mhz, self.pins = modulation, frequency_mhz, pins
        self.power_dbm, self.sync_word, self.gpio_chip = power_dbm, sync_word, gpio_chip
        self._ports = ports or self._real_ports
        self._irq_thread = irq_thread  # False: the caller drives poll() (tests, or a poll loop of its own)
        # How a received frame reaches the receiver: directly, or e.g. loop.call_soon_threadsafe so the node
        # (which is not thread-safe) handles it on its event loop rather than on the interrupt thread.
        self._dispatch = dispatch
        self._chip: SX1276 | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._receiver: Receiver | None = None
        self._transmitting = threading.Event()
        self.crc_errors = 0

    @classmethod
    def from_config(cls, config: Any, modulation: Modulation, loop: asyncio.AbstractEventLoop, *,
                    loss: float = 0.0) -> SX1276Radio:
        """The HAT's pin map (``mesh.hat``, with ``mesh.pin_reset``/``pin_dio0`` overrides), frequency, power
        and sync word; frames reach the node on ``loop``. ``loss`` is for twins and is ignored here."""
        pins = PIN_MAPS[config["mesh.hat"]]
        if config["mesh.pin_reset"] is not None:
            pins = replace(pins, reset=config["mesh.pin_reset"])
        if config["mesh.pin_dio0"] is not None:
            pins = replace(pins, dio0=config["mesh.pin_dio0"])
        return cls(modulation, config["mesh.frequency"], pins, power_dbm=config["mesh.tx_power_dbm"],
                   sync_word=config["mesh.sync_word"], gpio_chip=config["mesh.gpio_chip"],
                   dispatch=loop.call_soon_threadsafe)

    def _real_ports(self) -> tuple[SpiPort, GpioPort]:
        manual_cs = self.pins.cs_gpio is not None
        spi = SpidevPort(self.pins.spi_bus, self.pins.spi_device, manual_cs=manual_cs)
        try:
            gpio = GpiodPort(self.gpio_chip, self.pins.reset, self.pins.dio0, cs=self.pins.cs_gpio)
        except BaseException:
            spi.close()
            raise
        return (GpioSelectedSpi(spi, gpio) if manual_cs else spi), gpio

    def open(self, receiver: Receiver) -> None:
        if self._chip is not None:
            raise RadioError("SX1276 radio already open")
        spi, gpio = self._ports()
        chip = SX1276(spi, gpio)
        try:
            chip.reset()
            chip.configure(self.modulation, round(self.frequency_mhz * 1e6), self.power_dbm, self.sync_word)
            chip.start_receive()
        except BaseException:
            spi.close()
            gpio.close()
            raise
        self._chip, self._receiver = chip, receiver
        self._stop.clear()
        if self._irq_thread:
            self._thread = threading.Thread(target=self._irq_loop, name="sx1276-dio0", daemon=True)
            self._thread.start()

    def close(self) -> None:
        chip, self._chip = self._chip, None
        if chip is None:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        with self._lock:
            try:
                chip.sleep()
            finally:
                chip.spi.close()
                chip.gpio.close()

    def _require(self) -> SX1276:
        if self._chip is None:
            raise RadioError("SX1276 radio is not open")
        return self._chip

    def transmit(self, frame: bytes) -> float:
        chip = self._require()
        with self._lock:
            if self._transmitting.is_set():
                raise RadioError("SX1276 still transmitting the previous frame")
            self._transmitting.set()
            chip.start_transmit(frame)
        return self.airtime(len(frame))

    def channel_busy(self) -> bool:
        chip = self._require()
        with self._lock:
            if self._transmitting.is_set() or chip.receiving():
                return True  # never CAD over a frame we are receiving: it would abort the reception
            try:
                return chip.channel_activity(timeout_s=0.1 + 32 * self.modulation.symbol_s)
            finally:
                chip.start_receive()

    def poll(self) -> None:
        """Handle whatever DIO0 signalled (the IRQ thread calls this; tests may call it directly)."""
        chip = self._require()
        with self._lock:
            flags = chip.irq_flags()
            packet = None
            if flags & R.IRQ_TX_DONE:
                chip.clear_irq(R.IRQ_TX_DONE)
                self._transmitting.clear()
                chip.start_receive()
            elif flags & R.IRQ_RX_DONE:
                packet = chip.read_packet(flags)
                chip.clear_irq(R.IRQ_RX_DONE | R.IRQ_PAYLOAD_CRC_ERROR | R.IRQ_VALID_HEADER)
                if packet is None:
                    self.crc_errors += 1
        if packet is not None and self._receiver is not None:
            if self._dispatch is not None:
                self._dispatch(self._receiver, *packet)
            else:
                self._receiver(*packet)

    def _irq_loop(self) -> None:
        chip = self._chip
        while not self._stop.is_set() and chip is not None:
            try:
                if chip.gpio.wait_dio0(0.2):
                    self.poll()
            except RadioError as exc:
                log.error("SX1276: %s", exc)
            except Exception:  # a receiver bug must not kill the radio thread
                log.exception("SX1276 receive handler failed")
