"""The boot tests' own parts that run without QEMU: the seed they put on the card is one first boot accepts
(with the agent's key format and a fresh SSH key pair), SSH is forwarded from loopback only, two guests are
cabled together by a socket netdev, and the scratch card is bigger than the image."""

from __future__ import annotations

import shutil
import subprocess
import tomllib

import firstboot
import pytest
from evyimage import boottest, guest


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen (openssh-client)")
def test_boot_test_seed_is_accepted_by_first_boot_and_the_agent(tmp_path):
    seed = boottest.KitSeed.make(tmp_path, "evy-boottest")
    parsed = firstboot.validate(tomllib.loads(seed.text()))
    assert parsed["ssh_authorized_keys"][0].startswith("ssh-ed25519 ")
    assert seed.ssh_private.exists() and len(seed.network_id()) == 4
    again = boottest.KitSeed.make(tmp_path, "other", seed.mesh_key)
    assert again.network_id() == seed.network_id() and again.ssh_private == seed.ssh_private


def test_ssh_is_forwarded_from_loopback_only(tmp_path):
    argv = guest.qemu_command(tmp_path / "d.img", tmp_path / "k", tmp_path / "i", "x", None, ssh_port=2222)
    netdev = argv[argv.index("-netdev") + 1]
    assert "hostfwd=tcp:127.0.0.1:2222-:22" in netdev and "restrict=on" in netdev


def test_two_guests_share_a_socket_cable(tmp_path):
    argvs = [guest.qemu_command(tmp_path / "d.img", tmp_path / "k", tmp_path / "i", "x", "/dev/pts/9",
                                lab_link=link, lab_mac=mac)
             for link, mac in (("listen=127.0.0.1:4000", "52:54:00:e5:00:0a"),
                               ("connect=127.0.0.1:4000", "52:54:00:e5:00:0b"))]
    for argv, mac in zip(argvs, ("0a", "0b"), strict=True):
        joined = " ".join(argv)
        assert "socket,id=lab," in joined and f"netdev=lab,romfile=,mac=52:54:00:e5:00:{mac}" in joined
        assert "usb-serial,chardev=modem" in joined


@pytest.mark.skipif(shutil.which("sfdisk") is None or shutil.which("mcopy") is None
                    or shutil.which("mkfs.vfat") is None, reason="needs fdisk, mtools, dosfstools")
def test_scratch_card_is_bigger_and_carries_the_seed(tmp_path):
    image = tmp_path / "small.img"
    with image.open("wb") as handle:
        handle.truncate(40 << 20)
    subprocess.run(["sfdisk", "--quiet", str(image)], input="start=2048, size=32768, type=c\n", text=True,
                   check=True)
    fat = tmp_path / "fat.img"
    subprocess.run(["mkfs.vfat", "-C", str(fat), str(16 * 1024)], check=True, capture_output=True)
    subprocess.run(["dd", f"if={fat}", f"of={image}", "bs=1M", "seek=1", "conv=notrunc,sparse"], check=True,
                   capture_output=True)
    disk = tmp_path / "disk.img"
    guest.scratch_disk(image, disk, 'hostname = "x"\n', grow_mib=64)
    assert disk.stat().st_size == image.stat().st_size + (64 << 20)
    assert guest.read_boot_file(disk, "evy-seed.toml") == b'hostname = "x"\n'
