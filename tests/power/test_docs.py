"""docs/power.md names every [power] setting, every pack curve and every source."""

from pathlib import Path

from evy.backends import names
from evy.power.curves import CURVES
from evy.power.settings import SETTINGS

DOC = (Path(__file__).parents[2] / "docs" / "power.md").read_text(encoding="utf-8")


def test_every_setting_pack_and_source_is_documented():
    missing = [s.key for s in SETTINGS if f"`{s.key}`" not in DOC]
    missing += [name for name in CURVES if f"`{name}`" not in DOC]
    missing += [name for name in names("power source") if f"**`{name}`**" not in DOC]
    assert not missing, f"docs/power.md lacks {missing}"
