"""Offline wheel installs into an image tree, done on the host without pip or emulation."""

import py_compile
import sys
import zipfile
from pathlib import Path

import pytest
from evyimage import wheels
from evyimage.errors import StageError
from evyimage.progress import BuildLog


def make_wheel(folder: Path, name: str = "demo", version: str = "1.0", extra: dict | None = None) -> Path:
    path = folder / f"{name}-{version}-py3-none-any.whl"
    files = {
        f"{name}/__init__.py": "def main():\n    return 0\n",
        f"{name}-{version}.dist-info/METADATA": f"Name: {name}\nVersion: {version}\n",
        f"{name}-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\n",
        f"{name}-{version}.dist-info/entry_points.txt": f"[console_scripts]\n{name} = {name}:main\n",
        f"{name}-{version}.data/data/share/{name}/notes.txt": "hello\n",
        **(extra or {}),
    }
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
    return path


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "tree"
    (root / "usr/lib/python3.13").mkdir(parents=True)
    (root / "usr/lib/python3.13/os.py").write_text("")
    (root / "usr/lib/python3.9").mkdir(parents=True)
    (root / "usr/lib/python3.9/os.py").write_text("")
    return root


@pytest.fixture
def log(tmp_path):
    with BuildLog(tmp_path / "log", console=open("/dev/null", "w")) as build_log:
        yield build_log


def test_install_places_package_data_and_script(tmp_path, tree, log):
    wheels.install(make_wheel(tmp_path), tree, log)
    site = tree / "usr/local/lib/python3.13/dist-packages"
    assert (site / "demo/__init__.py").exists()
    assert (site / "demo-1.0.dist-info/INSTALLER").read_text() == "evy-image\n"
    assert not list(site.glob("*.data"))
    assert (tree / "usr/local/share/demo/notes.txt").read_text() == "hello\n"
    script = tree / "usr/local/bin/demo"
    assert script.read_text().startswith("#!/usr/bin/python3\n") and "from demo import main" in script.read_text()
    assert script.stat().st_mode & 0o111


def test_newest_python_is_chosen(tree):
    assert wheels.python_version(tree) == "3.13"


def test_member_escaping_the_tree_is_refused(tmp_path, tree, log):
    wheel = make_wheel(tmp_path, extra={"../../evil": "x"})
    with pytest.raises(StageError, match="escapes"):
        wheels.install(wheel, tree, log)


def test_find_downloaded_normalises_names(tmp_path):
    (tmp_path / "sqlite_vec-0.1.9-py3-none-manylinux_2_17_aarch64.whl").write_bytes(b"")
    assert wheels.find_downloaded("sqlite-vec==0.1.9", tmp_path) is not None
    assert wheels.find_downloaded("sqlite-vec==0.1.8", tmp_path) is None


def test_missing_bytecode_is_found(tmp_path):
    import compileall

    from evyimage.agent import missing_bytecode

    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "mod.py").write_text("X = 1\n")
    tag = sys.implementation.cache_tag
    assert missing_bytecode(tmp_path, tag) == ["pkg/__init__.py", "pkg/mod.py"]
    compileall.compile_dir(tmp_path, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
    assert missing_bytecode(tmp_path, tag) == []
