"""One registry of backends chosen by name (evy.backends): each is imported only when chosen, an unknown
name is one line listing the known ones, and the settings table offers exactly the registered names."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from evy import backends
from evy.backends import BACKENDS, UnknownBackend
from evy.config import parse
from evy.config.table import SETTINGS
from evy.errors import ConfigError

LAZY = """
import json, sys
from evy import backends
seen = {}
for kind, entry in backends.BACKENDS.items():
    for name, target in entry.backends.items():
        module = target.partition(":")[0]
        before = module in sys.modules
        cls = backends.backend_class(kind, name)
        seen[f"{kind}/{name}"] = [before, module in sys.modules, cls.__module__ == module]
print(json.dumps(seen))
"""


def test_every_backend_is_imported_only_when_chosen():
    """In a fresh interpreter: no driver module is loaded by the registry, each one is loaded by its name."""
    result = subprocess.run([sys.executable, "-c", LAZY], capture_output=True, text=True, check=True)
    seen = json.loads(result.stdout)
    assert len(seen) == sum(len(entry.backends) for entry in BACKENDS.values())
    assert {name: state for name, state in seen.items() if state != [False, True, True]} == {}


@pytest.mark.parametrize("kind", sorted(BACKENDS))
def test_an_unknown_name_is_one_line_listing_the_known_ones(kind):
    entry = BACKENDS[kind]
    with pytest.raises(UnknownBackend) as raised:
        backends.backend_class(kind, "carrier-pigeon")
    assert str(raised.value) == (f"{entry.setting}: unknown {kind} 'carrier-pigeon'; known: "
                                 f"{', '.join(entry.backends)}")
    assert isinstance(raised.value, ConfigError)  # the CLI prints it as `error: ...` and exits 2


@pytest.mark.parametrize("kind", sorted(BACKENDS))
def test_the_settings_table_offers_exactly_the_registered_names(kind):
    setting = next(s for s in SETTINGS if s.key == BACKENDS[kind].setting)
    for name in backends.names(kind):
        assert setting.parse(name) == name
    with pytest.raises(ValueError, match="must be one of " + ", ".join(backends.names(kind))):
        setting.parse("carrier-pigeon")


def test_make_constructs_the_chosen_backend_without_opening_it():
    config = parse('[modem]\nbackend = "gammu"\nport = "/dev/does-not-exist"\n[power]\nsource = "sim"\n')
    modem = backends.make("modem", config)
    assert type(modem).__name__ == "GammuModem" and not modem.is_open
    source = backends.make("power source", config)
    assert source.name == "sim"
