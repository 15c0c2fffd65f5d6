"""The build, stage by stage: profile → base (cached) → customise → agent → overlays → boot files → partitions
→ outputs. Each stage prints its elapsed time; everything else goes to out/NAME.build.log."""

from __future__ import annotations

import dataclasses
import fcntl
import os
import platform
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from evyimage import __version__, agent, base, bootfiles, customise, hostcheck, outputs, overlays, partitions
from evyimage import profile as profiles
from evyimage.errors import StageError
from evyimage.progress import BuildLog, format_seconds

REPO = Path(__file__).resolve().parents[2]
PROFILES_DIR = REPO / "image" / "profiles"
# The cache (base root tarball, .debs, llama.cpp build, downloads) lives outside the checkout so that a fresh
# clone or work tree on the same machine reuses it: the base root alone is most of an hour under qemu-user.
CACHE_ENV = "EVY_IMAGE_CACHE"
DEFAULT_CACHE_DIR = Path("/var/cache/evy-image")


def default_cache_dir(environ: dict[str, str] | None = None) -> Path:
    """$EVY_IMAGE_CACHE if set (and not empty), else /var/cache/evy-image."""
    value = (os.environ if environ is None else environ).get(CACHE_ENV, "").strip()
    return Path(value) if value else DEFAULT_CACHE_DIR


@dataclass(frozen=True)
class BuildOptions:
    profile: str = "field"
    out_dir: Path = REPO / "out"
    cache_dir: Path = dataclasses.field(default_factory=default_cache_dir)
    work_dir: Path = REPO / "build" / "image-work"
    rebuild_base: bool = False
    xz_level: int = 1


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below a path (a leftover mount must never be deleted through)."""
    prefix = str(path.resolve())
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8") as mountinfo:
        for line in mountinfo:
            point = line.split()[4].replace("\\040", " ")
            if point == prefix or point.startswith(prefix + "/"):
                found.append(point)
    return found


def fresh_dir(path: Path) -> None:
    if path.exists():
        leftover = mounts_under(path)
        if leftover:
            raise StageError(f"{path} has mounts inside ({', '.join(leftover)}); unmount them first")
        shutil.rmtree(path)
    path.mkdir(parents=True)


def _deterministic_ids(name: str, epoch: int) -> tuple[str, str, int, int]:
    """Filesystem UUIDs and the MBR disk id from name + epoch: the same inputs give the same image."""
    root = uuid.uuid5(uuid.NAMESPACE_URL, f"evy-image:{name}:{epoch}:root")
    data = uuid.uuid5(uuid.NAMESPACE_URL, f"evy-image:{name}:{epoch}:data")
    return str(root), str(data), root.int & 0xFFFFFFFF, data.int & 0xFFFFFFFF


def build(options: BuildOptions) -> Path:
    started = time.monotonic()
    profile_path = profiles.resolve(options.profile, PROFILES_DIR)
    profile = profiles.load(profile_path)
    paths = outputs.OutputPaths(options.out_dir, profile.name)
    options.out_dir.mkdir(parents=True, exist_ok=True)
    lock = (options.out_dir / f".{profile.name}.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise StageError(f"another build of {profile.name} is running (lock {lock.name})") from None
    with lock:
        return _build_locked(options, profile_path, profile, paths, started)


def _build_locked(options: BuildOptions, profile_path: Path, profile: profiles.Profile,
                  paths: outputs.OutputPaths, started: float) -> Path:
    paths.log.unlink(missing_ok=True)
    with BuildLog(paths.log) as log:
        log.say(f"evy-image {__version__}: profile {profile_path.name} → {paths.image}")
        with log.stage("check host"):
            hostcheck.check_build_host(profile["base.architecture"], cross=bool(profile["agent.llama_cpp_python"]))
        epoch = outputs.source_date_epoch(REPO)
        work = options.work_dir / profile.name
        tree, boot_dir, data_tree = work / "rootfs", work / "bootfs", work / "datafs"
        with log.stage("base root (mmdebstrap)"):
            base_root = base.build_base(profile, options.cache_dir, log, rebuild=options.rebuild_base)
        with log.stage("unpack base"):
            fresh_dir(work)
            base.extract(base_root.tarball, tree, log)
        with log.stage("customise"):
            customise.run_hooks(customise.BEFORE_OVERLAYS, tree, profile, log)
        with log.stage("agent, wheels, llama.cpp, models"):
            installed = agent.install(profile, REPO, tree, options.cache_dir, work, log)
        with log.stage("overlays"):
            written = overlays.apply_all(profile, REPO, tree)
            customise.run_hooks(customise.AFTER_OVERLAYS, tree, profile, log)
            log.say(f"{len(written)} overlay files")
        with log.stage("boot files"):
            kernel = bootfiles.installed_kernel(tree)
            fresh_dir(boot_dir)
            firmware = tree / bootfiles.FIRMWARE_DIR
            for entry in firmware.iterdir():
                shutil.move(entry, boot_dir / entry.name)
            bootfiles.write(boot_dir, kernel)
            boot_summary = bootfiles.check(boot_dir, kernel)
            outputs.export_boot(kernel.vmlinuz, kernel.initrd, paths)
            log.say(f"kernel {kernel.version}; Pi 4 boot files checked; overlay module in the initramfs")
        with log.stage("data partition"):
            fresh_dir(data_tree)
            data_owner = _prepare_data(data_tree, tree, epoch)
        with log.stage("partitions (no loop devices)"):
            layout = _make_filesystems(profile, work, tree, boot_dir, data_tree, data_owner, epoch, log)
            partitions.assemble(layout, paths.image, log)
        with log.stage("xz, bmap, checksums"):
            outputs.compress(paths, log, options.xz_level)
            outputs.bmap(paths, log)
            sums = outputs.checksums(paths)
        manifest = {
            "image": paths.image.name,
            "builder": f"evy-image {__version__}",
            "profile": {"file": str(profile_path.relative_to(REPO)) if profile_path.is_relative_to(REPO)
                        else str(profile_path), "sha256": outputs.sha256_file(profile_path),
                        "values": dict(profile.values)},
            "build_time": datetime.now(UTC).isoformat(timespec="seconds"),
            "source_date_epoch": epoch,
            "build_host": {"machine": platform.machine(), "emulated": hostcheck.needs_emulation()},
            "git": outputs.git_describe(REPO),
            "base": {"cache_key": base_root.tarball.stem, "from_cache": base_root.cached},
            "kernel": boot_summary,
            "agent": {"version": installed.agent_version, "wheels": installed.wheels, "llama": installed.llama},
            "models": installed.models,
            "partitions": [{"label": p.label, "size_mib": p.size_mib, "type": p.mbr_type}
                           for p in layout.partitions],
            "sizes": {"img": paths.image.stat().st_size, "img_xz": paths.xz.stat().st_size,
                      "img_allocated": paths.image.stat().st_blocks * 512},
            "sha256": sums,
            "stage_seconds": log.timings,
            "packages": base_root.packages,
        }
        outputs.write_manifest(paths, manifest)
        total = time.monotonic() - started
        log.say(f"done in {format_seconds(total)}: {paths.image} ({paths.image.stat().st_size / 2**20:.0f} MiB, "
                f"xz {paths.xz.stat().st_size / 2**20:.0f} MiB)")
    return paths.image


def _prepare_data(data_tree: Path, tree: Path, epoch: int) -> str:
    """The data partition's first contents: the fake-hwclock seed so the clock never starts before the build."""
    clock = data_tree / "clock"
    clock.mkdir()
    stamp = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")
    (clock / "fake-hwclock.data").write_text(stamp + "\n", encoding="utf-8")
    passwd = (tree / "etc/passwd").read_text(encoding="utf-8")
    for line in passwd.splitlines():
        fields = line.split(":")
        if fields[0] == customise.AGENT_USER:
            return f"{fields[2]}:{fields[3]}"
    raise StageError("the agent user is missing from the image's /etc/passwd")


def _make_filesystems(profile: profiles.Profile, work: Path, tree: Path, boot_dir: Path, data_tree: Path,
                      data_owner: str, epoch: int, log: BuildLog) -> partitions.Layout:
    root_uuid, data_uuid, disk_id, boot_volume = _deterministic_ids(profile.name, epoch)
    root_mib = partitions.root_size_mib(tree, profile["partitions.root_mib"], profile["partitions.root_headroom_mib"])
    boot_img, root_img, data_img = work / "boot.vfat", work / "root.ext4", work / "data.ext4"
    partitions.make_fat(boot_dir, boot_img, profile["partitions.boot_mib"], overlays.BOOT_LABEL, boot_volume,
                        epoch, log)
    partitions.make_ext4(tree, root_img, root_mib, overlays.ROOT_LABEL, root_uuid, epoch, log)
    os.chown(data_tree, *map(int, data_owner.split(":")))
    partitions.make_ext4(data_tree, data_img, profile["partitions.data_mib"], overlays.DATA_LABEL, data_uuid,
                         epoch, log, root_owner=data_owner)
    log.say(f"boot {profile['partitions.boot_mib']} MiB, root {root_mib} MiB, "
            f"data {profile['partitions.data_mib']} MiB")
    return partitions.Layout((
        partitions.Partition(overlays.BOOT_LABEL, "c", boot_img, profile["partitions.boot_mib"], bootable=True),
        partitions.Partition(overlays.ROOT_LABEL, "83", root_img, root_mib),
        partitions.Partition(overlays.DATA_LABEL, "83", data_img, profile["partitions.data_mib"]),
    ), disk_id)

