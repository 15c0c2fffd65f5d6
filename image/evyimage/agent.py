"""Stage 3: the agent, installed offline. Debian's python3-* packages are already in the base; here go the
agent's own wheel (built on the host), the pinned aarch64 wheels for what Debian lacks, llama-cpp-python's
ctypes package with the cross-compiled llama.cpp, the models, and /etc/evy/evy.toml."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evy.files import toml_document
from evyimage import llama, models, wheels
from evyimage.profile import Profile
from evyimage.progress import BuildLog

CONFIG_PATH = Path("etc/evy/evy.toml")
# Where first boot stores a seeded mesh key (it reads this setting back from the config), under data_dir.
MESH_KEY_FILE = "secrets/mesh.key"


@dataclass
class AgentInstall:
    agent_version: str = ""
    wheels: dict[str, str] = field(default_factory=dict)  # distribution → version
    llama: dict[str, Any] = field(default_factory=dict)
    models: list[dict[str, Any]] = field(default_factory=list)


def build_agent_wheel(repo: Path, work: Path, log: BuildLog, python: str = sys.executable) -> Path:
    out = work / "agent-wheel"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    # Build from a clean copy: setuptools reuses a stale build/lib in the source tree otherwise.
    source = work / "agent-source"
    if source.exists():
        shutil.rmtree(source)
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (repo / name).exists():
            shutil.copy2(repo / name, source / name)
    shutil.copytree(repo / "agent", source / "agent",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    # Build isolation: pip installs the [build-system] requirements into a throwaway environment, so the
    # build does not depend on whichever setuptools/wheel the calling venv happens to carry.
    log.run([python, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-w", out, source])
    built = sorted(out.glob("evy-*.whl"))
    if not built:
        from evyimage.errors import StageError
        raise StageError(f"pip wheel produced no evy wheel in {out}")
    return built[0]


def install_llama(build: llama.LlamaBuild, tree: Path, log: BuildLog) -> None:
    site = wheels.site_packages(tree)
    target = site / "llama_cpp"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(build.package_dir, target, symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "server"))
    libraries = [p for p in (target / "lib").iterdir() if p.is_file() and not p.is_symlink()]
    if libraries and shutil.which("aarch64-linux-gnu-strip"):
        log.run(["aarch64-linux-gnu-strip", "--strip-unneeded", *libraries])
    dist_info = site / f"llama_cpp_python-{build.version}.dist-info"
    dist_info.mkdir(exist_ok=True)
    pkg_info = (build.package_dir.parent / "PKG-INFO").read_text(encoding="utf-8")
    (dist_info / "METADATA").write_text(pkg_info, encoding="utf-8")
    (dist_info / "INSTALLER").write_text("evy-image\n", encoding="utf-8")
    (dist_info / "top_level.txt").write_text("llama_cpp\n", encoding="utf-8")


def agent_config_text(config: dict[str, Any], image_name: str) -> str:
    header = (f"# {image_name}: the agent's config, from the image profile's [agent.config].\n"
              "# First boot adds country and modem PIN from the seed file. `evy config check` validates it.\n")
    return header + toml_document(config)


def image_config(profile: Profile, has_models: bool) -> dict[str, Any]:
    """The profile's agent config, pointing the model settings at what the image carries and the mesh key at
    the file first boot writes."""
    config = {k: (dict(v) if isinstance(v, dict) else v) for k, v in profile["agent.config"].items()}
    if "data_dir" in config:
        config.setdefault("mesh", {}).setdefault("key_file", f"{config['data_dir'].rstrip('/')}/{MESH_KEY_FILE}")
    if has_models:
        llm = config.setdefault("llm", {})
        llm.setdefault("lockfile", "/" + str(models.LOCK_IN_IMAGE))
        llm.setdefault("models_dir", "/" + str(models.MODELS_DIR))
    return config


def install(profile: Profile, repo: Path, tree: Path, cache_dir: Path, work: Path,
            log: BuildLog) -> AgentInstall:
    result = AgentInstall()
    downloads = cache_dir / "downloads"
    agent_wheel = build_agent_wheel(repo, work, log)
    result.agent_version = agent_wheel.name.split("-")[1]
    wheels.install(agent_wheel, tree, log)
    missing = complete_package_data(repo / "agent" / "evy", wheels.site_packages(tree) / "evy")
    if missing:
        log.say(f"WARNING: the evy wheel lacks {', '.join(missing)} (pyproject package-data); copied from the "
                "source tree")
    log.say(f"agent evy {result.agent_version} installed (/usr/local/bin/evy)")
    python = wheels.python_version(tree)
    for requirement in profile["agent.wheels"]:
        wheel = wheels.download(requirement, downloads, log, python=python)
        wheels.install(wheel, tree, log)
        name, version = wheel.name.split("-")[:2]
        result.wheels[name] = version
        log.say(f"wheel {wheel.name}")
    if profile["agent.llama_cpp_python"]:
        build = llama.build(profile["agent.llama_cpp_python"], downloads, cache_dir, log)
        install_llama(build, tree, log)
        libraries = sorted(p.name for p in (build.package_dir / "lib").iterdir())
        result.llama = {"llama_cpp_python": build.version, "sdist_sha256": build.sdist_sha256,
                        "cmake_flags": list(llama.CMAKE_FLAGS), "libraries": libraries}
        log.say(f"llama-cpp-python {build.version} with llama.cpp for armv8-a ({len(libraries)} libraries)")
    compile_bytecode(tree, log)
    entries = models.select(repo / "models.lock", profile["agent.models"])
    installed = models.install(entries, tree, repo, downloads, work, log)
    result.models = [vars(m) for m in installed]
    config_file = tree / CONFIG_PATH
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(agent_config_text(image_config(profile, bool(installed)), profile.name), encoding="utf-8")
    config_file.chmod(0o640)
    gid = group_id(tree, "evy")
    if gid is not None:
        os.chown(config_file, 0, gid)
    return result


def compile_bytecode(tree: Path, log: BuildLog) -> None:
    """Byte-compile what was unpacked into /usr/local with the image's own Python (under qemu-user): the root
    is read-only and the unit sets PYTHONDONTWRITEBYTECODE, so without this every start compiles the agent,
    llama_cpp and the rest in memory again. checked-hash pycs stay valid when the build clamps file times."""
    site = wheels.site_packages(tree)
    log.run(["chroot", tree, "python3", "-m", "compileall", "-q", "-j", "2", "--invalidation-mode", "checked-hash",
             "/" + str(site.relative_to(tree))], env={"LC_ALL": "C.UTF-8"})
    missing = missing_bytecode(site, "cpython-" + wheels.python_version(tree).replace(".", ""))
    if missing:
        from evyimage.errors import StageError
        raise StageError(f"no bytecode for {len(missing)} modules, e.g. {missing[0]}")


def missing_bytecode(site: Path, cache_tag: str) -> list[str]:
    """Modules under ``site`` without a ``__pycache__/NAME.<cache_tag>.pyc`` beside them."""
    return [str(py.relative_to(site)) for py in sorted(site.rglob("*.py"))
            if not (py.parent / "__pycache__" / f"{py.stem}.{cache_tag}.pyc").exists()]


def group_id(tree: Path, name: str) -> int | None:
    for line in (tree / "etc/group").read_text(encoding="utf-8").splitlines():
        fields = line.split(":")
        if fields[0] == name and len(fields) > 2:
            return int(fields[2])
    return None


def complete_package_data(source: Path, installed: Path) -> list[str]:
    """Copy data files of the agent's source package that its wheel left out (a package-data pattern missing
    in pyproject.toml would otherwise only show on the kit, as a crash at start). Returns what was copied."""
    copied = []
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if not path.is_file() or path.suffix in (".py", ".pyc") or "__pycache__" in rel.parts:
            continue
        target = installed / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            target.chmod(0o644)
            copied.append(f"evy/{rel}")
    return copied
