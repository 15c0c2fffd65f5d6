"""`evy sim --meshtastic`: a newcomer is a Meshtastic user in the terminal (a real process, the twin node,
the real library)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("meshtastic")

pytestmark = pytest.mark.timeout(120)


def test_a_line_typed_is_a_direct_message_and_the_reply_is_printed_part_by_part_in_order(tmp_path):
    config = tmp_path / "evy.toml"
    config.write_text("[brain]\nfollowup = false\n")
    result = subprocess.run([sys.executable, "-m", "evy", "sim", "--meshtastic", "--country", "KE", "--config",
                             str(config), "--timeout", "60"], input="help the water is rising\n/channel STOP\n",
                            capture_output=True, text=True, timeout=110)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("kit (to you): ")]
    assert lines[0].startswith("kit (to you): (1/") and any("999" in line for line in result.stdout.splitlines())
    assert "you are Meshtastic node !a1b2c3d4" in result.stdout
