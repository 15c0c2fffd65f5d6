"""llama.cpp for the Pi: cross-compiled on the host (crossbuild-essential-arm64) from the vendored tree of the
pinned llama-cpp-python sdist, for plain armv8-a with GGML_NATIVE=OFF so it runs on any Cortex-A72, and cached.

llama-cpp-python's Python side is ctypes only; it looks for the libraries in ``llama_cpp/lib`` next to itself,
so the image gets the sdist's ``llama_cpp`` package with these libraries (rpath ``$ORIGIN``) in ``lib/``.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

from evy.files import sha256_file
from evyimage.progress import BuildLog

CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=ON",
    "-DGGML_NATIVE=OFF",
    "-DGGML_CPU_ARM_ARCH=armv8-a",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_TOOLS=OFF",
    "-DLLAMA_BUILD_SERVER=OFF",
    "-DCMAKE_BUILD_WITH_INSTALL_RPATH=ON",
    "-DCMAKE_INSTALL_RPATH=$ORIGIN",
)
TOOLCHAIN = """\
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
"""


@dataclass(frozen=True)
class LlamaBuild:
    package_dir: Path  # the ``llama_cpp`` Python package, libraries in its lib/
    version: str
    sdist_sha256: str
    cached: bool


def sdist_name(version: str) -> str:
    return f"llama_cpp_python-{version}.tar.gz"


def build_key(sdist_sha: str) -> str:
    material = "\n".join((sdist_sha, TOOLCHAIN, *CMAKE_FLAGS))
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def build(version: str, downloads: Path, cache_dir: Path, log: BuildLog) -> LlamaBuild:
    """Cross-compile (or reuse) llama.cpp for the pinned llama-cpp-python version."""
    sdist = downloads / sdist_name(version)
    if not sdist.exists():
        log.run(["python3", "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                 f"llama-cpp-python=={version}", "-d", downloads])
    sdist_sha = sha256_file(sdist)
    out = cache_dir / "llama" / build_key(sdist_sha)
    package_dir = out / "llama_cpp"
    if (package_dir / "lib" / "libllama.so").exists():
        log.say(f"llama.cpp {version} for armv8-a from cache")
        return LlamaBuild(package_dir, version, sdist_sha, cached=True)
    work = cache_dir / "llama" / "work"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    with tarfile.open(sdist) as archive:
        archive.extractall(work, filter="data")
    source = work / f"llama_cpp_python-{version}"
    toolchain = work / "aarch64.cmake"
    toolchain.write_text(TOOLCHAIN, encoding="utf-8")
    build_dir = work / "build"
    log.say(f"cross-compiling llama.cpp {version} for armv8-a (about 2 minutes on 2 cores)")
    log.run(["cmake", "-S", source / "vendor" / "llama.cpp", "-B", build_dir,
             f"-DCMAKE_TOOLCHAIN_FILE={toolchain}", *CMAKE_FLAGS])
    log.run(["cmake", "--build", build_dir, "--target", "llama", "--parallel", "2"])
    staged = out.with_suffix(".partial")
    if staged.exists():
        shutil.rmtree(staged)
    shutil.copytree(source / "llama_cpp", staged / "llama_cpp")
    lib_dir = staged / "llama_cpp" / "lib"
    lib_dir.mkdir()
    libraries = sorted(p for p in build_dir.rglob("lib*.so*") if p.is_file() or p.is_symlink())
    for library in libraries:
        shutil.copy2(library, lib_dir / library.name, follow_symlinks=False)
    (staged / "PKG-INFO").write_bytes((source / "PKG-INFO").read_bytes())
    if out.exists():
        shutil.rmtree(out)
    staged.replace(out)
    shutil.rmtree(work)
    return LlamaBuild(out / "llama_cpp", version, sdist_sha, cached=False)
