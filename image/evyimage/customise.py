"""Stage 2: customisation hooks on the unpacked base tree — users and groups, logins, enabled and masked
units, identity files cleared so every card makes its own at first boot. Only user/group creation runs
inside the tree (chroot under qemu-user, a second or two); the rest is file work on the host."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from evyimage.errors import StageError
from evyimage.profile import Profile
from evyimage.progress import BuildLog

AGENT_USER = "evy"
# Raspberry Pi OS has these groups; Debian doesn't. The udev rule in overlays gives them the devices.
DEVICE_GROUPS = ("gpio", "spi", "i2c")
AGENT_GROUPS = ("dialout", *DEVICE_GROUPS)
ENABLE = ("evy-firstboot.service", "evy-agent.service", "evy-console.service", "evy-clock.service",
          "systemd-networkd.service", "fake-hwclock-save.timer", "systemd-timesyncd.service", "ssh.service")
# Boot time (measured with the boot test's systemd-analyze blame under QEMU; each is seconds under emulation
# and minutes off the agent's start in total): ldconfig, the journal catalog and update-done run at *every*
# boot because /etc/.updated lands on the overlay's tmpfs (ConditionNeedsUpdate), and the image's ld.so.cache
# and catalog are made at build time; the kit mounts no configfs, debugfs, tracefs, hugetlbfs, mqueue, fuse or
# pstore, loads no DRM, runs no foreign binaries (binfmt), takes no ip= from the kernel command line and has
# no getty on tty2-6.
BOOT_TIME_MASK = (
    "ldconfig.service", "systemd-journal-catalog-update.service", "systemd-update-done.service",
    "sys-kernel-config.mount", "modprobe@configfs.service", "sys-kernel-debug.mount", "sys-kernel-tracing.mount",
    "dev-hugepages.mount", "dev-mqueue.mount", "sys-fs-fuse-connections.mount", "modprobe@fuse.service",
    "systemd-pstore.service", "modprobe@efi_pstore.service", "modprobe@drm.service", "systemd-binfmt.service",
    "proc-sys-fs-binfmt_misc.automount", "systemd-network-generator.service", "getty-static.service",
    # ConditionNeedsUpdate=/etc again (every boot on the overlay), and systemd-udevd waits for it, so the data
    # partition's device waits too; the users it would make are made at build time (checked: sysusers_missing).
    "systemd-sysusers.service",
)
# Generators systemd runs before anything else, for things the kit never has: sshd on AF_VSOCK (probing it
# loads vsock and takes seconds under emulation), GPT auto-mounts (the card is MBR), hibernation, TPM2, SysV
# init scripts, rc.local, offline system updates.
MASKED_GENERATORS = (
    "systemd-ssh-generator", "systemd-gpt-auto-generator", "systemd-hibernate-resume-generator",
    "systemd-tpm2-generator", "systemd-sysv-generator", "systemd-rc-local-generator",
    "systemd-system-update-generator",
)
# systemd-firstboot would prompt on the console (machine-id is empty until our own first boot);
# systemd-remount-fs would remount the overlay root with overlayroot's fstab options and fail (overlayroot
# owns /, every other mount has its own unit);
# sshd-keygen would put host keys on the tmpfs (evy-firstboot makes them on the data partition);
# fake-hwclock-load can't see the data partition (evy-clock replaces it); the apt timers and e2scrub want a
# writable root and a network the kit doesn't have.
MASK = ("systemd-firstboot.service", "systemd-remount-fs.service", "sshd-keygen.service",
        "fake-hwclock-load.service", "apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer",
        "e2scrub_reap.service", "dpkg-db-backup.timer", "man-db.timer", "fstrim.timer", *BOOT_TIME_MASK)
# Debian masks hostapd at install; first boot enables it when the seed asks for access-point mode.
UNMASK = ("hostapd.service",)

Hook = Callable[[Path, Profile, BuildLog], None]


def chroot(tree: Path, log: BuildLog, *argv: str) -> str:
    return log.run(["chroot", tree, *argv], env={"LC_ALL": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"})


def clean_caches(tree: Path, profile: Profile, log: BuildLog) -> None:
    for folder in ("var/cache/apt/archives", "var/lib/apt/lists", "var/cache/debconf", "var/log"):
        for entry in (tree / folder).glob("*"):
            if entry.is_file() or entry.is_symlink():
                entry.unlink()
            elif entry.is_dir() and entry.name not in ("partial", "auth.conf.d"):
                shutil.rmtree(entry)
    for leftover in (tree / "var/cache/apt").glob("*.bin"):
        leftover.unlink()


def users(tree: Path, profile: Profile, log: BuildLog) -> None:
    groups = (tree / "etc/group").read_text(encoding="utf-8")
    for group in DEVICE_GROUPS:
        if f"\n{group}:" not in "\n" + groups:
            chroot(tree, log, "groupadd", "--system", group)
    data_dir = str(profile["agent.config"].get("data_dir", "/var/lib/evy"))
    if f"\n{AGENT_USER}:" not in "\n" + (tree / "etc/passwd").read_text(encoding="utf-8"):
        chroot(tree, log, "useradd", "--system", "--user-group", "--home-dir", data_dir, "--no-create-home",
               "--shell", "/usr/sbin/nologin", "--groups", ",".join(AGENT_GROUPS), AGENT_USER)
    (tree / data_dir.lstrip("/")).mkdir(parents=True, exist_ok=True)  # the data partition's mountpoint


def logins(tree: Path, profile: Profile, log: BuildLog) -> None:
    """Field: no password can log in anywhere (root locked; SSH is key-only via overlays).
    Test profile only: root without a password on the console, for the QEMU/HIL boot tests."""
    if profile["image.test_login"]:
        chroot(tree, log, "passwd", "--delete", "root")
        common_auth = tree / "etc/pam.d/common-auth"
        text = common_auth.read_text(encoding="utf-8")
        if "pam_unix.so" in text and "nullok" not in text:
            common_auth.write_text(text.replace("pam_unix.so", "pam_unix.so nullok", 1), encoding="utf-8")
        log.say("TEST IMAGE: root may log in on the console without a password")
    else:
        chroot(tree, log, "usermod", "--password", "*", "root")
    shadow = (tree / "etc/shadow").read_text(encoding="utf-8")
    for line in shadow.splitlines():
        user, password = line.split(":")[:2]
        if password not in ("*", "!", "!*", "") and not password.startswith("!"):
            raise StageError(f"user {user} has a password in /etc/shadow; field images must have none")
        if password == "" and not (profile["image.test_login"] and user == "root"):
            raise StageError(f"user {user} has an empty password; only root in a test profile may")


def identity(tree: Path, profile: Profile, log: BuildLog) -> None:
    """Every card gets its own machine-id and host keys at first boot; none may ship in the image."""
    (tree / "etc/machine-id").write_text("", encoding="utf-8")
    (tree / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    for key in (tree / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (tree / "etc/hostname").write_text(profile["image.hostname"] + "\n", encoding="utf-8")


def timezone(tree: Path, profile: Profile, log: BuildLog) -> None:
    zone = profile["image.timezone"]
    if zone != "UTC" and not (tree / "usr/share/zoneinfo" / zone).exists():
        raise StageError(f"image.timezone: {zone} is not in the image's tzdata")
    localtime = tree / "etc/localtime"
    localtime.unlink(missing_ok=True)
    localtime.symlink_to(f"/usr/share/zoneinfo/{zone}")
    (tree / "etc/timezone").write_text(zone + "\n", encoding="utf-8")
    (tree / "etc/default/locale").write_text(f"LANG={profile['image.locale']}\n", encoding="utf-8")


def units(tree: Path, profile: Profile, log: BuildLog) -> None:
    """Enable, mask and unmask with the host's systemctl --root (reads [Install]; nothing runs)."""
    system = tree / "etc/systemd/system"
    for unit in UNMASK:
        path = system / unit
        if path.is_symlink() and os.readlink(path) == "/dev/null":
            path.unlink()
    present = [u for u in ENABLE if _unit_exists(tree, u)]
    missing = sorted(set(ENABLE) - set(present))
    if missing:
        raise StageError(f"units to enable are missing from the image: {', '.join(missing)}")
    log.run(["systemctl", f"--root={tree}", "enable", *present])
    missing_users = sysusers_missing(tree)
    if missing_users:
        raise StageError(f"systemd-sysusers is masked but these sysusers.d entries are not in /etc/passwd or "
                         f"/etc/group: {', '.join(missing_users)}")
    masks = [u for u in MASK if _unit_exists(tree, u)]
    log.run(["systemctl", f"--root={tree}", "mask", *masks])
    generators = tree / "etc/systemd/system-generators"
    generators.mkdir(parents=True, exist_ok=True)
    for name in MASKED_GENERATORS:
        link = generators / name
        if not link.is_symlink():
            link.symlink_to("/dev/null")


def sysusers_missing(tree: Path) -> list[str]:
    """Users and groups declared in sysusers.d that the image's passwd/group lack (systemd-sysusers is masked,
    so the packages' own postinst calls must have made them all at build time)."""
    def names(path: str) -> set[str]:
        file = tree / path
        return {line.split(":", 1)[0] for line in file.read_text(encoding="utf-8").splitlines()} if file.exists() \
            else set()

    users, groups = names("etc/passwd"), names("etc/group")
    missing = []
    for folder in ("usr/lib/sysusers.d", "etc/sysusers.d"):
        for conf in sorted((tree / folder).glob("*.conf")):
            for line in conf.read_text(encoding="utf-8").splitlines():
                fields = line.split()
                if len(fields) < 2 or "%" in fields[1]:
                    continue
                kind, name = fields[0].rstrip("!~"), fields[1]
                if (kind == "u" and name not in users) or (kind == "g" and name not in groups):
                    missing.append(f"{name} ({conf.name})")
    return missing


def _unit_exists(tree: Path, unit: str) -> bool:
    """The unit, or for an instance (modprobe@drm.service) its template, is installed."""
    prefix, at, rest = unit.partition("@")
    names = [unit, f"{prefix}@.{rest.rsplit('.', 1)[-1]}"] if at else [unit]
    return any((tree / folder / name).exists() for folder in ("etc/systemd/system", "usr/lib/systemd/system",
                                                               "lib/systemd/system") for name in names)


# Hooks that need the overlays in place (units live in overlays) run after the overlay stage.
BEFORE_OVERLAYS: tuple[Hook, ...] = (clean_caches, users, logins, identity, timezone)
AFTER_OVERLAYS: tuple[Hook, ...] = (units,)


def run_hooks(hooks: tuple[Hook, ...], tree: Path, profile: Profile, log: BuildLog) -> None:
    for hook in hooks:
        log.note(f"-- hook {hook.__name__}")
        hook(tree, profile, log)
