"""The agent's wheel builds in a fresh virtual environment and carries every data file the agent reads at run
time (the image installs the agent from it).

A fresh venv is what `python3 -m venv` makes: Python 3.11's bundled pip and old setuptools, no `wheel`. The
build must not depend on that: pyproject.toml declares the build requirements and the build runs isolated.
"""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    return venv / "bin" / "python"


def data_files() -> list[str]:
    package = ROOT / "agent"
    return [str(p.relative_to(package)) for p in (package / "evy").rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts]


def assert_complete(wheel: Path) -> None:
    packed = set(zipfile.ZipFile(wheel).namelist())
    data = data_files()
    missing = [name for name in data if name not in packed]
    assert data and not missing, f"left out of the wheel: {missing}"
    assert "evy/cli/__init__.py" in packed


@pytest.mark.slow
def test_wheel_builds_in_a_fresh_venv_with_every_data_file(fresh_python, tmp_path):
    subprocess.run([str(fresh_python), "-m", "pip", "wheel", "--no-deps", "-q", "--disable-pip-version-check",
                    "-w", str(tmp_path), str(ROOT)], check=True, timeout=600)
    [wheel] = tmp_path.glob("evy-*.whl")
    assert_complete(wheel)


@pytest.mark.slow
def test_image_agent_stage_builds_the_wheel_in_a_fresh_venv(fresh_python, tmp_path):
    """`invoke build-image`'s agent stage, run by a fresh venv's Python as the README's path would."""
    script = (
        "import sys\nfrom pathlib import Path\n"
        f"sys.path[:0] = [{str(ROOT / 'image')!r}, {str(ROOT / 'agent')!r}]  # as image/tasks.py puts them\n"
        "from evyimage.agent import build_agent_wheel\nfrom evyimage.progress import BuildLog\n"
        f"work = Path({str(tmp_path)!r})\n"
        f"with BuildLog(work / 'build.log') as log:\n"
        f"    print(build_agent_wheel(Path({str(ROOT)!r}), work, log))\n"
    )
    result = subprocess.run([str(fresh_python), "-c", script], capture_output=True, text=True, timeout=600)
    log = (tmp_path / "build.log").read_text() if (tmp_path / "build.log").exists() else ""
    assert result.returncode == 0, f"{result.stderr[-2000:]}\n{log[-2000:]}"
    assert_complete(Path(result.stdout.strip().splitlines()[-1]))
