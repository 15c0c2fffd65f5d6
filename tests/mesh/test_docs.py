"""docs/mesh.md keeps up with the code: every board, region, message kind and command is described."""

from pathlib import Path

from evy.mesh.dutycycle import REGIONS
from evy.mesh.frames import Kind
from evy.mesh.radio.pinmaps import PIN_MAPS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "mesh.md").read_text()


def test_every_board_region_and_kind_is_documented():
    missing = [name for name in PIN_MAPS if f"`{name}`" not in DOC]
    missing += [name for name in REGIONS if name not in DOC]
    missing += [kind.name.lower().replace("_", " ") for kind in Kind
                if kind.name.lower().replace("_", " ").split()[0] not in DOC.lower()]
    assert not missing


def test_every_command_is_documented():
    for command in ("evy frame decode", "evy lora airtime", "evy mesh sim", "evy mesh run", "evy mesh send",
                    "evy mesh status", "evy mesh keygen"):
        assert command in DOC, command
