"""Preparing a HIL run: the run folder, this run's seed, and the LG_EVY_* variables the env files use."""

from __future__ import annotations

import dataclasses
import shutil
import socket
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
    seed_name = env_option(env_file, "seed_name", "evy-seed.toml")
    (run_dir / seed_name).write_text(seed.to_toml())
    # A second kit (target `peer`, for LoRa) is one mesh with the first: the same network key, its own name.
    (run_dir / "peer").mkdir()
    (run_dir / "peer" / seed_name).write_text(dataclasses.replace(seed, hostname=f"{seed.hostname}-peer").to_toml())
    variables = {"LG_EVY_IMAGE": str(image.resolve()), "LG_EVY_RUN": str(run_dir.resolve())}
    if env == "qemu":
        main_port, peer_port = free_udp_ports(2)
        variables["LG_EVY_LAB_MAIN_PORT"], variables["LG_EVY_LAB_PEER_PORT"] = str(main_port), str(peer_port)
        boot = extract(image, run_dir / "boot")
        variables["LG_EVY_BOOT_ARGS"] = qemu_boot_args(boot.cmdline)
        variables["LG_EVY_INITRD"] = str(boot.initrd.resolve()) if boot.initrd else ""
        if not boot.initrd:
            raise HilError(f"{image}: config.txt names no initramfs; Debian's arm64 kernel cannot boot without one")
    return variables


def free_udp_ports(count: int) -> list[int]:
    """Ports free on the host's loopback now, for the guests' ends of the virtual cable."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
