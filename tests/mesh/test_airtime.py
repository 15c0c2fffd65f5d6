import pytest

from evy.mesh.airtime import Modulation, bandwidth_from_khz, time_on_air
from evy.mesh.errors import AirtimeError


def test_issue_reference_values():
    assert Modulation(7, 125_000, 5, 8).time_on_air(50) == pytest.approx(0.097536, abs=1e-9)
    assert Modulation(12, 125_000, 5, 8).time_on_air(50) == pytest.approx(2.301952, abs=1e-9)


def test_ldro_switches_on_exactly_at_16ms_symbols():
    assert not Modulation(10, 125_000).ldro  # 8.192 ms
    assert Modulation(11, 125_000).ldro  # 16.384 ms
    assert not Modulation(11, 250_000).ldro  # 8.192 ms
    assert Modulation(12, 250_000).ldro  # 16.384 ms


def test_meshtastic_longfast_figures():
    longfast = Modulation(11, 250_000, 5, 16)
    assert longfast.time_on_air(50) == pytest.approx(0.641, abs=0.001)
    assert longfast.time_on_air(255) == pytest.approx(2.157, abs=0.001)


def test_header_crc_and_minimum_symbols():
    explicit = Modulation(7, 125_000, 5, 8).time_on_air(10)
    implicit = Modulation(7, 125_000, 5, 8, explicit_header=False).time_on_air(10)
    no_crc = Modulation(7, 125_000, 5, 8, crc=False).time_on_air(10)
    assert implicit < explicit and no_crc < explicit
    # An empty payload in implicit mode still has the 8 fixed symbols.
    assert Modulation(12, 125_000, 5, 8, explicit_header=False, crc=False).payload_symbols(0) == 8


def test_airtime_grows_with_payload_and_coding_rate():
    m5, m8 = Modulation(9, 125_000, 5), Modulation(9, 125_000, 8)
    values = [m5.time_on_air(n) for n in range(0, 256, 17)]
    assert values == sorted(values)
    assert m8.time_on_air(100) > m5.time_on_air(100)
    assert time_on_air(100, spreading_factor=9) == m5.time_on_air(100)


@pytest.mark.parametrize("kwargs", [{"spreading_factor": 13}, {"bandwidth_hz": 100_000}, {"coding_rate": 4},
                                    {"preamble": 2}])
def test_bad_parameters_are_refused(kwargs):
    with pytest.raises(AirtimeError):
        Modulation(**kwargs)
    with pytest.raises(AirtimeError):
        Modulation().time_on_air(256)


def test_bandwidth_names():
    assert bandwidth_from_khz(125) == 125_000
    assert bandwidth_from_khz(62.5) == 62_500
    assert bandwidth_from_khz(7.8) == 7_800
    with pytest.raises(AirtimeError):
        bandwidth_from_khz(100)
