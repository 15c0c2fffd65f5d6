"""Preparing a HIL run: the run folder, this run's seed, and the LG_EVY_* variables the env files use."""

from __future__ import annotations

import shutil
from pathlib import Path

from labgrid.util.yaml import load as load_yaml

from .bootfiles import extract, qemu_boot_args
from .errors import HilError
from .seed import make_test_seed

ENVS = ("qemu", "rpi4")


# The image each env tests by default: QEMU needs the HIL profile's modem port (/dev/ttyUSB0, the USB serial
# adapter QEMU emulates); a rig tests what ships.
PREFERRED = {"qemu": "evy-hil.img", "rpi4": "evy-field.img"}


def default_image(out: Path, env: str) -> Path:
    """out/evy-hil.img (QEMU) or out/evy-field.img (rig) when built, else the newest out/*.img."""
    preferred = out / PREFERRED.get(env, "")
    if preferred.is_file():
        return preferred
    images = sorted(out.glob("*.img"), key=lambda path: path.stat().st_mtime)
    if not images:
        raise HilError(f"no image in {out}/ (run `invoke build-image`, or pass --image out/NAME.img)")
    return images[-1]


def env_option(env_file: Path, name: str, default: str) -> str:
    with open(env_file) as stream:
        data = load_yaml(stream) or {}
    return str((data.get("options") or {}).get(name, default))


def prepare(env: str, image: Path, env_file: Path, run_dir: Path) -> dict[str, str]:
    """Fresh ``run_dir`` with the seed (and for QEMU the boot files); returns the variables to export."""
    if env not in ENVS:
        raise HilError(f"--env {env}: choose one of {', '.join(ENVS)}")
    if not image.is_file():
        raise HilError(f"image {image} does not exist (run `invoke build-image`)")
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    seed, _ = make_test_seed(run_dir, env_option(env_file, "country", "DE"))
    (run_dir / env_option(env_file, "seed_name", "evy-seed.toml")).write_text(seed.to_toml())
    variables = {"LG_EVY_IMAGE": str(image.resolve()), "LG_EVY_RUN": str(run_dir.resolve())}
    if env == "qemu":
        boot = extract(image, run_dir / "boot")
        variables["LG_EVY_BOOT_ARGS"] = qemu_boot_args(boot.cmdline)
        variables["LG_EVY_INITRD"] = str(boot.initrd.resolve()) if boot.initrd else ""
        if not boot.initrd:
            raise HilError(f"{image}: config.txt names no initramfs; Debian's arm64 kernel cannot boot without one")
    return variables
