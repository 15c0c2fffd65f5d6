"""What every power source promises, written once and run against each backend (and its twin)."""

from __future__ import annotations

import pytest

from evy.backends import UnknownBackend, names
from evy.power import PowerError, PowerReading, PowerSource, open_source, source_class
from evy.power.ina219 import Ina219Source
from evy.power.none import NoSource
from evy.power.sim import SimulatedSource
from evy.power.sysfs import SysfsSource

from .ina219_fake import FakeIna219Bus


def make_sysfs(tmp_path) -> SysfsSource:
    folder = tmp_path / "power_supply" / "BAT0"
    folder.mkdir(parents=True)
    for name, value in {"type": "Battery", "status": "Discharging", "capacity": "64"}.items():
        (folder / name).write_text(f"{value}\n")
    return SysfsSource(tmp_path / "power_supply")


def make_ina219(tmp_path) -> Ina219Source:
    fake = FakeIna219Bus()
    fake.measure(in_minus_v=12.2, shunt_v=0.02)
    return Ina219Source(bus=fake)


BACKENDS = {
    "sysfs": make_sysfs,
    "ina219": make_ina219,
    "sim": lambda tmp_path: SimulatedSource(64),
    "none": lambda tmp_path: NoSource(),
}


@pytest.fixture(params=sorted(BACKENDS))
def source(request, tmp_path) -> PowerSource:
    return BACKENDS[request.param](tmp_path)


def test_every_registered_driver_has_a_contract_backend():
    assert set(BACKENDS) == set(names("power source"))
    for name in names("power source"):
        assert source_class(name).name == name


def test_reading_before_open_is_refused_and_after_open_works(source):
    with pytest.raises(PowerError, match="before open"):
        source.read()
    with source:
        reading = source.read()
    assert isinstance(reading, PowerReading) and reading.source == source.name
    assert reading.battery_pct is None or 0 <= reading.battery_pct <= 100
    assert reading.problem is None


def test_open_and_close_are_idempotent(source):
    source.open()
    source.open()
    source.close()
    source.close()


def test_a_reading_is_json_ready(source):
    import json

    with source:
        data = source.read().to_dict()
    assert json.loads(json.dumps(data)) == data and set(data) >= {"battery_pct", "charging", "problem"}


def test_a_fault_in_the_hook_becomes_an_unknown_reading(source, monkeypatch):
    def broken() -> PowerReading:
        raise OSError(5, "Input/output error")

    with source:
        monkeypatch.setattr(source, "_read", broken)
        reading = source.read()
    assert reading.battery_pct is None and reading.problem == "Input/output error"


def test_unknown_source_names_are_refused():
    with pytest.raises(UnknownBackend, match="unknown power source 'ups'; known: none, sysfs, ina219, sim"):
        source_class("ups")


def test_open_source_by_config(power_config, tmp_path):
    with open_source(power_config(source="sysfs", sysfs_root=str(tmp_path))) as source:
        assert isinstance(source, SysfsSource) and source.read().battery_pct is None
    with open_source(power_config(source="sim", sim_battery=12)) as source:
        assert source.read().battery_pct == 12
