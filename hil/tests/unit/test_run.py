"""Preparing a run: which image, the run folder, the variables the env files read."""

from __future__ import annotations

import os
import shutil

import pytest
from evyhil import run
from evyhil.errors import HilError
from evyhil.seed import KitSeed


def test_default_image_prefers_the_profile_the_env_needs(tmp_path):
    with pytest.raises(HilError, match="no image in"):
        run.default_image(tmp_path, "qemu")
    (tmp_path / "evy-hil.img").touch()
    (tmp_path / "evy-field.img").touch()
    (tmp_path / "other.img").touch()
    os.utime(tmp_path / "other.img", (2e9, 2e9))
    assert run.default_image(tmp_path, "qemu").name == "evy-hil.img"
    assert run.default_image(tmp_path, "rpi4").name == "evy-field.img"
    assert run.default_image(tmp_path, "lab").name == "other.img"


def test_unknown_env_and_missing_image_are_refused(tmp_path):
    env_file = tmp_path / "env.yaml"
    env_file.write_text("options: {country: KE}\n")
    with pytest.raises(HilError, match="choose one of qemu, rpi4"):
        run.prepare("pi5", tmp_path / "x.img", env_file, tmp_path / "run")
    with pytest.raises(HilError, match="does not exist"):
        run.prepare("rpi4", tmp_path / "x.img", env_file, tmp_path / "run")


@pytest.mark.skipif(not shutil.which("ssh-keygen"), reason="needs ssh-keygen")
def test_rig_run_gets_a_fresh_seed(tmp_path):
    env_file = tmp_path / "env.yaml"
    env_file.write_text('options: {country: KE}\nimages: {seed: !template "$LG_EVY_RUN/evy-seed.toml"}\n')
    image = tmp_path / "evy-field.img"
    image.touch()
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "stale").touch()
    variables = run.prepare("rpi4", image, env_file, tmp_path / "run")
    assert variables == {"LG_EVY_IMAGE": str(image), "LG_EVY_RUN": str(tmp_path / "run")}
    assert not (tmp_path / "run" / "stale").exists()
    seed = KitSeed.from_toml((tmp_path / "run" / "evy-seed.toml").read_text())
    assert seed.country == "KE" and seed.hostname.startswith("evy-hil-")


@pytest.mark.skipif(not shutil.which("ssh-keygen"), reason="needs ssh-keygen")
def test_a_second_kit_gets_its_own_name_in_the_same_mesh(tmp_path):
    env_file = tmp_path / "env.yaml"
    env_file.write_text("options: {country: KE}\n")
    image = tmp_path / "evy-field.img"
    image.touch()
    run.prepare("rpi4", image, env_file, tmp_path / "run")
    kit = KitSeed.from_toml((tmp_path / "run" / "evy-seed.toml").read_text())
    peer = KitSeed.from_toml((tmp_path / "run" / "peer" / "evy-seed.toml").read_text())
    assert peer.mesh_key == kit.mesh_key and peer.hostname == f"{kit.hostname}-peer"
    assert peer.ssh_authorized_keys == kit.ssh_authorized_keys


def test_the_virtual_cable_gets_two_free_loopback_ports():
    ports = run.free_udp_ports(2)
    assert len(set(ports)) == 2 and all(1024 <= port < 65536 for port in ports)
