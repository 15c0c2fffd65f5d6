"""The SX1276 driver's register logic against the register-level fake."""

from __future__ import annotations

import threading

import pytest

from evy.mesh.airtime import Modulation
from evy.mesh.errors import RadioError
from evy.mesh.radio import sx1276_regs as R
from evy.mesh.radio.pinmaps import PIN_MAPS
from evy.mesh.radio.sx1276 import SX1276, SX1276Radio
from evy.mesh.radio.sx1276_fake import FakeSX1276

MOD = Modulation(9, 125_000, 5, 16)


def make_radio(fake: FakeSX1276, modulation: Modulation = MOD, irq_thread: bool = False) -> SX1276Radio:
    """Without the interrupt thread the test drives ``poll()`` itself, so nothing races it."""
    return SX1276Radio(modulation, 869.525, PIN_MAPS["adafruit-rfm9x"], power_dbm=14, sync_word=0x12,
                       ports=fake.ports, irq_thread=irq_thread)


@pytest.fixture
def fake():
    return FakeSX1276()


@pytest.fixture
def received():
    return []


@pytest.fixture
def radio(fake, received):
    radio = make_radio(fake)
    radio.open(lambda frame, rssi, snr: received.append((frame, rssi, snr)))
    yield radio
    radio.close()


def test_configuration_registers(radio, fake):
    regs = fake.registers
    frf = regs[R.FRF_MSB] << 16 | regs[R.FRF_MID] << 8 | regs[R.FRF_LSB]
    assert frf * R.FXOSC_HZ / 2**19 == pytest.approx(869.525e6, abs=61.1)  # one FRF step
    assert regs[R.MODEM_CONFIG_1] == 0x7 << 4 | 1 << 1  # 125 kHz, 4/5, explicit header
    assert regs[R.MODEM_CONFIG_2] == 9 << 4 | R.MODEM_CONFIG_2_CRC_ON
    assert not regs[R.MODEM_CONFIG_3] & R.MODEM_CONFIG_3_LDRO
    assert (regs[R.PREAMBLE_MSB], regs[R.PREAMBLE_LSB]) == (0, 16)
    assert regs[R.SYNC_WORD] == 0x12 and regs[R.PA_CONFIG] == 0x80 | 12
    assert fake.lora and fake.mode == R.MODE_RX_CONTINUOUS
    assert regs[R.DIO_MAPPING_1] & R.DIO0_MASK == R.DIO0_RX_DONE
    assert fake.resets == 1


def test_ldro_and_high_power_registers(fake):
    radio = SX1276Radio(Modulation(12, 125_000, 8, 8), 868.1, PIN_MAPS["pysx127x"], power_dbm=20, ports=fake.ports,
                        irq_thread=False)
    radio.open(lambda *a: None)
    try:
        assert fake.registers[R.MODEM_CONFIG_3] & R.MODEM_CONFIG_3_LDRO
        assert fake.registers[R.MODEM_CONFIG_1] >> 1 & 0x7 == 4
        assert fake.registers[R.PA_DAC] == 0x87 and fake.registers[R.PA_CONFIG] == 0x80 | 15
    finally:
        radio.close()


def test_transmit_fills_fifo_and_returns_to_receive(radio, fake):
    frame = bytes(range(40))
    airtime = radio.transmit(frame)
    assert airtime == pytest.approx(MOD.time_on_air(40))
    radio.poll()  # TxDone
    assert fake.sent == [frame]
    assert fake.mode == R.MODE_RX_CONTINUOUS
    assert fake.registers[R.DIO_MAPPING_1] & R.DIO0_MASK == R.DIO0_RX_DONE
    assert R.MODE_TX in fake.mode_log


def test_a_second_transmit_before_tx_done_is_refused(fake):
    radio = make_radio(fake)
    radio.open(lambda *a: None)
    try:
        radio.transmit(b"first")
        with pytest.raises(RadioError, match="still transmitting"):
            radio.transmit(b"second")
        assert radio.channel_busy()
        radio.poll()
        radio.transmit(b"second")
        assert fake.sent == [b"first", b"second"]
    finally:
        radio.close()


def test_receive_reads_fifo_rssi_and_snr(radio, fake, received):
    fake.registers[R.FIFO_RX_BASE_ADDR] = 0xF0  # the FIFO pointer wraps around
    assert fake.inject(b"hello mesh" * 3, rssi_dbm=-97.0, snr_db=6.25)
    radio.poll()
    frame, rssi, snr = received[-1]
    assert frame == b"hello mesh" * 3
    assert snr == 6.25 and rssi == pytest.approx(-97.0, abs=1.1)
    assert fake.inject(b"weak", rssi_dbm=-125.0, snr_db=-12.5)
    radio.poll()
    assert received[-1][2] == -12.5 and received[-1][1] == pytest.approx(-125.0, abs=1.1)


def test_crc_errors_and_missing_crc_are_dropped(radio, fake, received):
    fake.inject(b"broken", crc_ok=False)
    radio.poll()
    fake.inject(b"no crc", crc_on=False)
    radio.poll()
    assert received == [] and radio.crc_errors == 2
    assert fake.registers[R.IRQ_FLAGS] == 0


def test_channel_activity_detection(radio, fake):
    assert radio.channel_busy() is False
    fake.channel_active = True
    assert radio.channel_busy() is True
    assert R.MODE_CAD in fake.mode_log
    assert fake.mode == R.MODE_RX_CONTINUOUS  # listening again afterwards


def test_interrupt_thread_delivers_frames(fake):
    got = threading.Event()
    radio = make_radio(fake, irq_thread=True)
    radio.open(lambda frame, rssi, snr: got.set())
    try:
        fake.inject(b"via dio0")
        assert got.wait(2)
    finally:
        radio.close()
    assert fake.closed and fake.mode == R.MODE_SLEEP


def test_no_chip_answering(fake):
    bad = FakeSX1276(version=0x00)
    radio = make_radio(bad)
    with pytest.raises(RadioError, match="no SX1276"):
        radio.open(lambda *a: None)
    assert bad.closed


def test_lifecycle_errors(fake):
    radio = make_radio(fake)
    with pytest.raises(RadioError, match="not open"):
        radio.transmit(b"x")
    radio.close()  # closing a radio that never opened is harmless
    radio.open(lambda *a: None)
    with pytest.raises(RadioError, match="already open"):
        radio.open(lambda *a: None)
    with pytest.raises(RadioError, match=r"1\.\.255"):
        radio.transmit(b"")
    radio.close()
    radio.close()


def test_register_access_primitives(fake):
    chip = SX1276(fake, fake, sleep=lambda s: None)
    chip.write(R.SYNC_WORD, 0x34)
    assert chip.read(R.SYNC_WORD) == 0x34
    chip.write(R.FIFO_ADDR_PTR, 0x10)
    chip.write_burst(R.FIFO, b"abc")
    chip.write(R.FIFO_ADDR_PTR, 0x10)
    assert chip.read_burst(R.FIFO, 3) == b"abc"
    chip.write(R.VERSION, 0x99)
    assert chip.read(R.VERSION) == R.CHIP_VERSION


def test_real_ports_fail_clearly_without_spidev():
    try:
        import spidev  # noqa: F401
    except ImportError:
        radio = SX1276Radio(MOD, 869.525, PIN_MAPS["adafruit-rfm9x"])
        with pytest.raises(RadioError, match="spidev"):
            radio.open(lambda *a: None)
    else:
        pytest.skip("spidev present: the hardware path is exercised by the HIL bench")


def test_a_frame_being_received_makes_the_channel_busy_without_cad(radio, fake):
    fake.receiving = True
    modes_before = len(fake.mode_log)
    assert radio.channel_busy() is True
    assert R.MODE_CAD not in fake.mode_log[modes_before:]  # a CAD would have aborted the reception


def test_gpio_chip_select_wraps_every_transfer(fake):
    from evy.mesh.radio.sx1276 import GpioSelectedSpi

    events = []

    class Recorder:
        def select(self, selected):
            events.append("low" if selected else "high")

    class LoggingSpi:
        def transfer(self, data):
            events.append("xfer")
            return fake.transfer(data)

        def close(self):
            fake.close()

    chip = SX1276(GpioSelectedSpi(LoggingSpi(), Recorder()), fake, sleep=lambda s: None)
    assert chip.read(R.VERSION) == R.CHIP_VERSION
    chip.write(R.SYNC_WORD, 0x34)
    assert events == ["low", "xfer", "high"] * 2
