"""The INA219 driver against a register-level fake of the chip behind smbus2's calls."""

from __future__ import annotations

import errno
import logging
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evy.power.curves import CURVES
from evy.power.errors import PowerError, PowerUnavailable
from evy.power.ina219 import (
    BUS_LSB_V,
    CALIBRATION,
    CONFIGURATION,
    SHUNT_LSB_V,
    Ina219Source,
    bus_volts,
    calibrate,
    shunt_volts,
    signed16,
    swap16,
)

from .ina219_fake import FakeIna219Bus


def source_on(fake: FakeIna219Bus, **options) -> Ina219Source:
    source = Ina219Source(bus=fake, address=fake.address, **options)
    source.open()
    return source


def test_programs_the_chip_and_reads_a_discharging_lead_acid_battery():
    fake = FakeIna219Bus()
    fake.measure(in_minus_v=12.04, shunt_v=0.08)  # 0.8 A out of the battery through 0.1 Ω
    reading = source_on(fake).read()
    calibration = calibrate(0.1, 3.2)
    assert fake.registers[CALIBRATION] == calibration.value
    assert fake.registers[CONFIGURATION] == calibration.configuration
    assert reading.volts == pytest.approx(12.12, abs=BUS_LSB_V)  # VIN+ = bus + shunt
    assert reading.amps == pytest.approx(-0.8, abs=2 * calibration.current_lsb)
    assert reading.watts == pytest.approx(-9.7, abs=0.01)
    assert reading.charging is False and reading.battery_pct == CURVES["lead-acid-12v"].percent(12.12)
    assert reading.problem is None


def test_charging_current_into_a_lifepo4_pack():
    fake = FakeIna219Bus(address=0x41)
    fake.measure(in_minus_v=13.62, shunt_v=-0.015)  # 1.5 A into the battery through 0.01 Ω
    reading = source_on(fake, shunt_ohms=0.01, max_amps=20, pack="lifepo4-4s").read()
    assert reading.charging is True and reading.amps == pytest.approx(1.5, abs=0.002)
    assert reading.battery_pct == CURVES["lifepo4-4s"].percent(13.605)


def test_battery_on_vin_minus_flips_the_current_and_reads_the_bus_voltage():
    fake = FakeIna219Bus()
    fake.measure(in_minus_v=12.5, shunt_v=0.05)
    reading = source_on(fake, battery_pin="vin-").read()
    assert reading.amps == pytest.approx(0.5, abs=0.001) and reading.charging is True
    assert reading.volts == pytest.approx(12.5)


def test_a_brown_out_is_noticed_and_the_chip_reprogrammed():
    fake = FakeIna219Bus()
    fake.measure(in_minus_v=12.2, shunt_v=0.03)
    source = source_on(fake)
    source.read()
    fake.brown_out()
    reading = source.read()
    assert fake.registers[CALIBRATION] == source.calibration.value
    assert reading.amps == pytest.approx(-0.3, abs=0.001)  # from the shunt while the current register is stale
    assert source.read().amps == pytest.approx(-0.3, abs=0.001)


def test_words_go_on_the_wire_most_significant_byte_first():
    fake = FakeIna219Bus()
    fake.measure(in_minus_v=12.0, shunt_v=0.0)
    source_on(fake).read()
    calibration = calibrate(0.1, 3.2)
    assert (CALIBRATION, calibration.value) in fake.writes
    msb, lsb = fake.read_i2c_block_data(0x40, CALIBRATION, 2)
    assert (msb << 8) | lsb == calibration.value


@pytest.mark.parametrize("error", [OSError(errno.EREMOTEIO, "Remote I/O error"), OSError(errno.ETIMEDOUT, "timed out")])
def test_an_i2c_error_is_one_warning_and_unknown(error, caplog):
    fake = FakeIna219Bus()
    fake.measure(in_minus_v=12.2, shunt_v=0.01)
    source = source_on(fake)
    fake.fail_next = error
    with caplog.at_level(logging.WARNING, logger="evy.power"):
        reading = source.read()
    assert reading.battery_pct is None and reading.volts is None
    assert "no answer from the INA219 at 0x40" in reading.problem and "i2cdetect" in reading.problem
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0]
    assert source.read().battery_pct is not None  # the next transfer works again


def test_the_wrong_address_is_unknown_not_a_crash():
    fake = FakeIna219Bus(address=0x45)
    reading = Ina219Source(bus=fake, address=0x40).__enter__().read()
    assert reading.battery_pct is None and "0x40" in reading.problem


def test_no_battery_on_the_bus_is_unknown_not_zero():
    fake = FakeIna219Bus()
    fake.measure(in_minus_v=0.0, shunt_v=0.0)
    reading = source_on(fake).read()
    assert reading.battery_pct is None and "no battery connected" in reading.problem


@pytest.mark.parametrize(("max_amps", "why"), [
    (0.4, "gain /1 (40 mV): the shunt ADC saturates"),
    (0.5, "gain /2 (80 mV): the shunt reads 60 mV, the current register overflows"),
])
def test_current_beyond_the_range_leaves_amps_unknown(max_amps, why):
    fake = FakeIna219Bus()
    source = source_on(fake, shunt_ohms=0.1, max_amps=max_amps)
    fake.measure(in_minus_v=12.0, shunt_v=0.03)
    assert source.read().problem is None
    fake.measure(in_minus_v=12.0, shunt_v=0.06)  # 0.6 A
    reading = source.read()
    assert reading.amps is None and "raise power.max_amps" in reading.problem, why
    assert reading.battery_pct is not None  # the voltage still counts


def test_settings_the_chip_cannot_measure_are_refused_up_front():
    with pytest.raises(PowerError, match=r"measures at most 0\.32 V"):
        Ina219Source(bus=FakeIna219Bus(), shunt_ohms=0.1, max_amps=10)


def test_a_missing_i2c_device_node_is_a_clear_error(power_config):
    from evy.power import open_source

    with pytest.raises(PowerUnavailable, match=r"/dev/i2c-250.*dtparam=i2c_arm=on"):
        open_source(power_config(source="ina219", i2c_bus=250))


def test_close_releases_a_bus_it_opened_but_not_one_it_was_given():
    fake = FakeIna219Bus()
    source = source_on(fake)
    source.close()
    source.close()
    assert not fake.closed


# --- conversions, over every register value ----------------------------------------------------------------

@given(st.integers(0, 0xFFFF))
def test_swap16_is_its_own_inverse(word):
    assert swap16(swap16(word)) == word and 0 <= swap16(word) <= 0xFFFF


@given(st.integers(-32000, 32000))
def test_shunt_register_round_trips_in_10_microvolt_steps(counts):
    assert shunt_volts(counts & 0xFFFF) == pytest.approx(counts * SHUNT_LSB_V)
    assert signed16(counts & 0xFFFF) == counts


@given(st.integers(0, 0x1FFF), st.integers(0, 7))
def test_bus_register_ignores_the_status_bits(counts, status):
    assert bus_volts((counts << 3) | status) == pytest.approx(counts * BUS_LSB_V)


@given(st.floats(0.0005, 1.0), st.floats(0.01, 100.0))
def test_calibration_holds_the_largest_current_at_the_finest_gain(shunt_ohms, max_amps):
    if shunt_ohms * max_amps > 0.32:
        with pytest.raises(ValueError, match=r"0\.32 V"):
            calibrate(shunt_ohms, max_amps)
        return
    calibration = calibrate(shunt_ohms, max_amps)
    assert 2 <= calibration.value <= 0xFFFE and calibration.value % 2 == 0
    assert calibration.current_lsb * 32767 >= max_amps * (1 - 1e-6)
    assert shunt_ohms * max_amps <= (0.04, 0.08, 0.16, 0.32)[calibration.pga] * (1 + 1e-6)
    assert calibration.pga == 0 or shunt_ohms * max_amps > (0.04, 0.08, 0.16)[calibration.pga - 1]


@given(battery_v=st.floats(9.0, 15.0), amps=st.floats(-3.0, 3.0))
def test_driver_recovers_volts_and_amps_through_the_registers(battery_v, amps):
    fake = FakeIna219Bus()
    shunt_v = -amps * 0.1  # positive amps charge a battery on VIN+: current flows VIN− → VIN+
    fake.measure(in_minus_v=battery_v - shunt_v, shunt_v=shunt_v)
    source = source_on(fake)
    source.read()  # the first read programs the chip
    reading = source.read()
    lsb = source.calibration.current_lsb
    assert reading.volts == pytest.approx(battery_v, abs=BUS_LSB_V + SHUNT_LSB_V + 0.001)
    assert reading.amps == pytest.approx(amps, abs=SHUNT_LSB_V / 0.1 + 2 * lsb)
    assert 0 <= reading.battery_pct <= 100


@given(shunt=st.integers(0, 0xFFFF), bus=st.integers(0, 0xFFFF), current=st.integers(0, 0xFFFF))
def test_any_register_contents_give_a_sane_reading_never_an_exception(shunt, bus, current):
    fake = FakeIna219Bus()
    source = source_on(fake)
    source.read()  # programs the chip
    fake.registers[1], fake.registers[2], fake.registers[4] = shunt, bus, current
    reading = source.read()
    assert reading.battery_pct is None or 0 <= reading.battery_pct <= 100
    assert reading.battery_pct is not None or reading.problem
    for value in (reading.volts, reading.amps, reading.watts):
        assert value is None or math.isfinite(value)
