"""The wheel carries every data file the agent reads at run time (the image installs the agent from it)."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.slow
def test_wheel_has_every_data_file(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, timeout=300)
    [wheel] = tmp_path.glob("evy-*.whl")
    packed = set(zipfile.ZipFile(wheel).namelist())
    package = ROOT / "agent"
    data = [p for p in (package / "evy").rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")
            and "__pycache__" not in p.parts]
    missing = [str(p.relative_to(package)) for p in data if str(p.relative_to(package)) not in packed]
    assert data and not missing, f"left out of the wheel: {missing}"
