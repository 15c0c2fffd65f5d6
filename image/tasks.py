"""Image tasks (merged into the root namespace by ../tasks.py): build-image, boot-test, boot-test-mesh, flash,
setup-host, image-check (the bounded CI part)."""

from __future__ import annotations

import sys
from pathlib import Path

from invoke import task
from invoke.exceptions import Exit

IMAGE_DIR = Path(__file__).resolve().parent
REPO = IMAGE_DIR.parent
# The builder reads models.lock with the agent's own code (evy.llm.lockfile, evy.files), and it must be this
# checkout's agent, the one it packs into the image, not whichever evy the calling Python has installed.
for _folder in (REPO / "agent", IMAGE_DIR):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from evyimage.errors import ImageError  # noqa: E402


def _fail(exc: ImageError) -> Exit:
    return Exit(f"error: {exc}", code=2)


@task(help={"profile": "profile name in image/profiles/ or a path to a .toml (default: field)",
            "rebuild_base": "rebuild the cached base root even if its key matches",
            "xz_level": "xz compression level for NAME.img.xz (default 1)",
            "cache_dir": "build cache outside the checkout (default $EVY_IMAGE_CACHE, else /var/cache/evy-image)"})
def build_image(c, profile="field", rebuild_base=False, xz_level=1, cache_dir=""):
    """Build out/NAME.img (+ .img.xz .bmap .sha256 .manifest.json .vmlinuz .initrd .build.log). Needs root."""
    from evyimage.pipeline import BuildOptions, build, default_cache_dir

    try:
        build(BuildOptions(profile=profile, rebuild_base=rebuild_base, xz_level=int(xz_level),
                           cache_dir=Path(cache_dir) if cache_dir else default_cache_dir()))
    except ImageError as exc:
        raise _fail(exc) from None


@task(help={"image": "image to boot (default out/evy-hil.img, else out/evy-field.img)",
            "timeout": "seconds allowed for each boot to reach the login prompt",
            "keep": "leave the scratch copy of the image in build/ for inspection"})
def boot_test(c, image="", timeout=420, keep=False):
    """Boot the image in QEMU (virt, cortex-a72, its own kernel+initrd) and check it over the serial console."""
    from evyimage.boottest import default_image, run_boot_test

    try:
        report = run_boot_test(Path(image) if image else default_image(REPO / "out"), timeout=float(timeout),
                               keep=keep)
    except ImageError as exc:
        raise _fail(exc) from None
    for line in report.lines():
        print(line)


@task(help={"image": "image to boot twice over (default out/evy-hil.img)",
            "timeout": "seconds allowed for each step (boot, relay)",
            "keep": "leave the scratch disks in build/boot-test-mesh/ for inspection"})
def boot_test_mesh(c, image="", timeout=900, keep=False):
    """Two kits in two QEMU guests joined by a virtual cable (UDP radio twin): the one without coverage gets
    its SMS reply out through the other."""
    from evyimage.meshtest import run_mesh_test

    try:
        report = run_mesh_test(Path(image) if image else REPO / "out" / "evy-hil.img", timeout=float(timeout),
                               keep=keep)
    except ImageError as exc:
        raise _fail(exc) from None
    for line in report.lines():
        print(line)


@task(help={"device": "the SD card's whole-disk device, e.g. /dev/sdb", "image": "default out/evy-field.img",
            "yes": "skip the typed confirmation (scripts; the safety checks still run)"})
def flash(c, device, image="", yes=False):
    """Write the image to an SD card with bmaptool. Refuses the host's own disks; asks for confirmation."""
    from evyimage import flash as flashing
    from evyimage.errors import FlashError

    image_path = Path(image) if image else REPO / "out" / "evy-field.img"
    bmap = image_path.with_suffix(".bmap")
    try:
        if not image_path.exists() or not bmap.exists():
            raise FlashError(f"{image_path} or {bmap.name} is missing; run `invoke build-image` first")
        facts = flashing.check_device(Path(device), image_path.stat().st_size, flashing.HostState.current())
        print(f"About to ERASE {facts['device']} ({facts['model'] or 'unknown model'}, {facts['size_gb']} GB, "
              f"removable={facts['removable']}) and write {image_path.name}.")
        if not yes:
            flashing.confirm(facts, input(f"Type {facts['name']} to continue: "))
    except ImageError as exc:
        raise _fail(exc) from None
    c.run(" ".join(flashing.bmaptool_command(image_path, bmap, Path(device))), pty=True)
    c.run("sync")


@task
def setup_host(c):
    """Install the Debian host packages the build needs and enable arm64 binfmt (run as root)."""
    from evyimage.hostcheck import HOST_PACKAGES, binfmt_state, needs_emulation

    c.run("apt-get update -qq")
    c.run("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
          + " ".join(HOST_PACKAGES))
    if needs_emulation():
        c.run("mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc")
        c.run("update-binfmts --enable qemu-aarch64")
        print(f"qemu-aarch64 binfmt: {binfmt_state()}")


@task
def image_check(c):
    """The bounded CI check (~1 min): profiles, overlay rendering, partition assembly from a small tree,
    boot-file and initramfs checks, flash refusals. No mmdebstrap, no network."""
    c.run(f"{sys.executable} -m pytest -q tests/image", pty=False)
