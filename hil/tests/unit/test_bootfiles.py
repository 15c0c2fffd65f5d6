"""Reading what the Pi firmware would boot from config.txt and cmdline.txt."""

from __future__ import annotations

import pytest
from evyhil.bootfiles import pi4_boot_names, qemu_boot_args

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
