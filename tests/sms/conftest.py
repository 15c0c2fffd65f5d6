"""Fixtures for the modem tests: a simulated modem on a real pty and the AT driver with short timeouts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from modem_support import at_settings

from evy.sms.at_modem import AtModem
from evy.sms.simulator import ModemSimulator


@pytest.fixture
def simulator() -> Iterator[ModemSimulator]:
    with ModemSimulator() as simulated:
        yield simulated


@pytest.fixture
def modem(simulator: ModemSimulator) -> Iterator[AtModem]:
    with AtModem(at_settings(simulator)) as opened:
        yield opened
