"""Reading what the Pi firmware would boot from config.txt and cmdline.txt."""

from __future__ import annotations

import shutil

import pytest
from evyhil.bootfiles import extract, pi4_boot_names, qemu_boot_args
from evyhil.errors import ImageError
from hil_fakes import CARD_TOOLS, make_card_image

DEBIAN_CONFIG = """\
# Do not modify this file!
[pi3]
kernel=vmlinuz-old
[all]
arm_64bit=1
enable_uart=1
upstream_kernel=1
kernel=vmlinuz-6.12.48+deb13-arm64
# For details on the initramfs directive, see
initramfs initrd.img-6.12.48+deb13-arm64 followkernel
[pi5]
kernel=vmlinuz-pi5
"""


def test_debian_raspi_firmware_config():
    assert pi4_boot_names(DEBIAN_CONFIG) == ("vmlinuz-6.12.48+deb13-arm64", "initrd.img-6.12.48+deb13-arm64")


def test_firmware_defaults_without_directives():
    assert pi4_boot_names("arm_64bit=1\n") == ("kernel8.img", None)


@pytest.mark.parametrize(("cmdline", "expected"), [
    ("console=serial0,115200 console=tty1 root=/dev/mmcblk0p2 rw overlayroot=tmpfs",
     "console=ttyAMA0 root=/dev/vda2 rw overlayroot=tmpfs"),
    ("root=LABEL=EVYROOT rootwait quiet", "console=ttyAMA0 root=LABEL=EVYROOT rootwait quiet"),
    ('root=PARTUUID=1234abcd-02 evy.note="a b"', 'console=ttyAMA0 root=PARTUUID=1234abcd-02 evy.note="a b"'),
])
def test_qemu_boot_args(cmdline, expected):
    assert qemu_boot_args(cmdline) == expected


@pytest.mark.skipif(not all(shutil.which(t) for t in CARD_TOOLS), reason="needs bmap-tools dosfstools mtools")
def test_extract_reads_what_config_txt_names(tmp_path):
    image = make_card_image(tmp_path, {
        "config.txt": DEBIAN_CONFIG.encode(), "cmdline.txt": b"console=serial0,115200 root=/dev/mmcblk0p2\n",
        "vmlinuz-6.12.48+deb13-arm64": b"KERNEL", "initrd.img-6.12.48+deb13-arm64": b"INITRD",
        "vmlinuz-pi5": b"WRONG"})
    boot = extract(image, tmp_path / "boot")
    assert boot.kernel.read_bytes() == b"KERNEL" and boot.initrd.read_bytes() == b"INITRD"
    assert qemu_boot_args(boot.cmdline) == "console=ttyAMA0 root=/dev/vda2"


@pytest.mark.skipif(not all(shutil.which(t) for t in CARD_TOOLS), reason="needs bmap-tools dosfstools mtools")
def test_extract_names_what_is_missing(tmp_path):
    image = make_card_image(tmp_path, {"config.txt": b"kernel=vmlinuz-x\n", "cmdline.txt": b"root=/dev/vda2\n"})
    with pytest.raises(ImageError, match="names kernel vmlinuz-x, which is not on the boot partition"):
        extract(image, tmp_path / "boot")
    with pytest.raises(ImageError, match="compressed"):
        extract(tmp_path / "evy.img.xz", tmp_path / "boot")
