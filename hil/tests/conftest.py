"""Shared by the HIL suite and the harness's unit tests: make `evyhil` importable from a checkout."""

import sys
from pathlib import Path

HIL = Path(__file__).resolve().parents[1]
if str(HIL) not in sys.path:
    sys.path.insert(0, str(HIL))
