"""The sysfs driver against real files in a fake /sys/class/power_supply tree."""

from __future__ import annotations

import logging

import pytest

from evy.power.sysfs import SysfsSource


def read(sysfs):
    with SysfsSource(sysfs.root) as source:
        return source.read()


def test_a_discharging_battery_gives_percent_volts_and_signed_current(sysfs):
    sysfs.supply("BAT0", type="Battery", status="Discharging", capacity=57, voltage_now=12_310_000,
                 current_now=850_000)
    sysfs.supply("AC", type="Mains", online=0)
    reading = read(sysfs)
    assert reading.battery_pct == 57 and reading.charging is False and reading.external_power is False
    assert reading.volts == pytest.approx(12.31) and reading.amps == pytest.approx(-0.85)
    assert reading.watts == pytest.approx(-10.4635) and reading.problem is None


def test_charging_on_usb_and_power_now_is_used_as_given(sysfs):
    sysfs.supply("battery", type="Battery", status="Charging", capacity=41, current_now=-1_200_000,
                 power_now=6_000_000)
    sysfs.supply("usb", type="USB", online=1)
    reading = read(sysfs)
    assert reading.charging is True and reading.external_power is True
    assert reading.amps == pytest.approx(1.2) and reading.watts == pytest.approx(6.0)


def test_full_means_on_external_power_and_not_charging(sysfs):
    sysfs.supply("BAT0", type="Battery", status="Full", capacity=100)
    reading = read(sysfs)
    assert (reading.battery_pct, reading.charging, reading.external_power) == (100, False, True)


@pytest.mark.parametrize("tree", ["missing", "empty", "mains only", "device battery", "not present"])
def test_no_battery_is_unknown_not_zero(sysfs, tree, tmp_path):
    if tree == "mains only":
        sysfs.supply("AC", type="Mains", online=1)
    if tree == "device battery":
        sysfs.supply("hidpp_battery_0", type="Battery", scope="Device", capacity=5, status="Discharging")
    if tree == "not present":
        sysfs.supply("BAT1", type="Battery", present=0, capacity=0)
    root = tmp_path / "nowhere" if tree == "missing" else sysfs.root
    with SysfsSource(root) as source:
        reading = source.read()
    assert reading.battery_pct is None and reading.problem is None
    assert reading.external_power is (True if tree == "mains only" else None)


def test_capacity_from_energy_when_the_driver_has_no_capacity_file(sysfs):
    sysfs.supply("BAT0", type="Battery", status="Discharging", energy_now=18_000_000, energy_full=48_000_000)
    assert read(sysfs).battery_pct == 38


def test_two_batteries_weighted_by_their_size(sysfs):
    sysfs.supply("BAT0", type="Battery", capacity=90, energy_full=20_000_000, status="Discharging")
    sysfs.supply("BAT1", type="Battery", capacity=30, energy_full=60_000_000, status="Discharging")
    assert read(sysfs).battery_pct == 45


def test_firmware_reporting_over_100_is_clamped(sysfs):
    sysfs.supply("BAT0", type="Battery", capacity=101, status="Full")
    assert read(sysfs).battery_pct == 100


@pytest.mark.parametrize(("capacity", "words"), [
    ("abc", "capacity holds 'abc', not a whole number"),
    ("", "capacity holds '', not a whole number"),
    ("-4", "capacity -4 is negative"),
    (b"\xff\xfe", "not text"),
])
def test_a_malformed_file_is_one_warning_and_unknown(sysfs, capacity, words, caplog):
    folder = sysfs.supply("BAT0", type="Battery", status="Discharging")
    if isinstance(capacity, bytes):
        (folder / "capacity").write_bytes(capacity)
    else:
        (folder / "capacity").write_text(capacity)
    with caplog.at_level(logging.WARNING, logger="evy.power"), SysfsSource(sysfs.root) as source:
        first, second = source.read(), source.read()
    assert first.battery_pct is None and words in first.problem and first.problem.startswith("BAT0: ")
    assert second == first
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0] and "unknown" in warnings[0]


def test_one_unreadable_battery_of_two_makes_the_total_unknown(sysfs):
    sysfs.supply("BAT0", type="Battery", capacity=80, status="Discharging")
    sysfs.supply("BAT1", type="Battery", capacity="??", status="Discharging")
    reading = read(sysfs)
    assert reading.battery_pct is None and "BAT1" in reading.problem


def test_an_unreadable_file_is_unknown(sysfs):
    folder = sysfs.supply("BAT0", type="Battery", status="Discharging")
    (folder / "capacity").mkdir()  # reading a directory fails with an OSError, as EIO from a gauge would
    reading = read(sysfs)
    assert reading.battery_pct is None and reading.problem.startswith("BAT0: ")


def test_the_reading_follows_the_files(sysfs):
    folder = sysfs.supply("BAT0", type="Battery", capacity=50, status="Discharging")
    with SysfsSource(sysfs.root) as source:
        assert source.read().battery_pct == 50
        (folder / "capacity").write_text("19\n")
        assert source.read().battery_pct == 19
