"""Boot-partition checks: the Pi 4 files, config.txt ↔ installed kernel, cmdline root, the initramfs content."""

from pathlib import Path

import pytest
from cpio_helpers import GOOD_INITRD, compressed
from evyimage import bootfiles, initramfs
from evyimage.errors import BootFilesError

VERSION = "6.12.0-1-arm64"


def make_tree(tmp_path: Path, initrd: bytes | None = None) -> tuple[Path, bootfiles.Kernel]:
    tree = tmp_path / "tree"
    firmware = tree / "boot/firmware"
    firmware.mkdir(parents=True)
    (tree / f"boot/vmlinuz-{VERSION}").write_bytes(b"KERNEL" * 100)
    (tree / f"boot/initrd.img-{VERSION}").write_bytes(initrd if initrd is not None else compressed(GOOD_INITRD))
    for name in ("start4.elf", "fixup4.dat", "bcm2711-rpi-4-b.dtb"):
        (firmware / name).write_bytes(b"fw")
    (firmware / f"vmlinuz-{VERSION}").write_bytes((tree / f"boot/vmlinuz-{VERSION}").read_bytes())
    (firmware / f"initrd.img-{VERSION}").write_bytes((tree / f"boot/initrd.img-{VERSION}").read_bytes())
    (firmware / "config.txt").write_text(f"arm_64bit=1\nupstream_kernel=1\nkernel=vmlinuz-{VERSION}\n"
                                         f"initramfs initrd.img-{VERSION}\n")
    kernel = bootfiles.installed_kernel(tree)
    bootfiles.write(firmware, kernel)
    return firmware, kernel


def test_good_boot_partition_passes(tmp_path):
    firmware, kernel = make_tree(tmp_path)
    summary = bootfiles.check(firmware, kernel)
    assert summary["kernel"] == VERSION
    assert "root=LABEL=EVYROOT" in summary["cmdline"]
    assert "overlayroot=tmpfs:recurse=0" in summary["cmdline"]
    assert "quiet" in summary["cmdline"].split()  # no synchronous console chatter on the boot path
    assert (firmware / "config.txt").read_text().count(bootfiles.EVY_CONFIG_MARK) == 1
    bootfiles.write(firmware, kernel)  # idempotent
    assert (firmware / "config.txt").read_text().count(bootfiles.EVY_CONFIG_MARK) == 1


@pytest.mark.parametrize("missing", bootfiles.PI4_FILES)
def test_each_pi4_file_is_required(tmp_path, missing):
    firmware, kernel = make_tree(tmp_path)
    (firmware / missing).unlink()
    with pytest.raises(BootFilesError, match=missing.replace(".", r"\.")):
        bootfiles.check(firmware, kernel)


def test_stale_kernel_copy_is_refused(tmp_path):
    firmware, kernel = make_tree(tmp_path)
    (firmware / f"vmlinuz-{VERSION}").write_bytes(b"OLD")
    with pytest.raises(BootFilesError, match="differs from /boot"):
        bootfiles.check(firmware, kernel)


def test_config_must_name_the_installed_kernel(tmp_path):
    firmware, kernel = make_tree(tmp_path)
    text = (firmware / "config.txt").read_text().replace(f"initramfs initrd.img-{VERSION}", "")
    (firmware / "config.txt").write_text(text)
    with pytest.raises(BootFilesError, match="no initramfs line"):
        bootfiles.check(firmware, kernel)


@pytest.mark.parametrize("cmdline", ["console=ttyS1 root=/dev/mmcblk0p2 overlayroot=tmpfs rootwait\n",
                                     "root=LABEL=EVYROOT rootwait\n"])
def test_cmdline_needs_label_root_and_overlayroot(tmp_path, cmdline):
    firmware, kernel = make_tree(tmp_path)
    (firmware / "cmdline.txt").write_text(cmdline)
    with pytest.raises(BootFilesError, match=r"cmdline\.txt"):
        bootfiles.check(firmware, kernel)


@pytest.mark.parametrize(("drop", "message"), [
    ("usr/lib/modules/6.12.0-1-arm64/kernel/fs/overlayfs/overlay.ko.xz", "overlay module"),
    ("bin/busybox", "grep"),
    ("scripts/init-bottom/overlayroot", "overlayroot's init-bottom"),
    ("conf/modules", "force-loaded"),
])
def test_initramfs_content_is_checked(tmp_path, drop, message):
    files = {k: v for k, v in GOOD_INITRD.items() if k != drop}
    firmware, kernel = make_tree(tmp_path, compressed(files))
    with pytest.raises(BootFilesError, match=message):
        bootfiles.check(firmware, kernel)


@pytest.mark.parametrize("kind", ["zstd", "gzip", "raw"])
def test_initramfs_listing_all_formats_and_early_cpio(kind):
    data = compressed(GOOD_INITRD, kind, early={"kernel/x86/microcode/GenuineIntel.bin": b"u"})
    names = initramfs.list_files(data)
    assert "kernel/x86/microcode/GenuineIntel.bin" in names
    assert set(GOOD_INITRD) <= set(names)


def test_garbage_initramfs_is_a_clear_error():
    with pytest.raises(BootFilesError, match="unknown format"):
        initramfs.list_files(b"\x01\x02garbage" * 10)


def test_exactly_one_kernel(tmp_path):
    (tmp_path / "boot").mkdir()
    with pytest.raises(BootFilesError, match="exactly one kernel"):
        bootfiles.installed_kernel(tmp_path)
