"""The per-kit seed file: the image's TOML format, required fields, a fresh identity per run."""

from __future__ import annotations

import importlib.util
import shutil
import tomllib
from pathlib import Path

import pytest
from evyhil.errors import SeedError
from evyhil.seed import KitSeed, make_test_seed
from hypothesis import given
from hypothesis import strategies as st

FIRSTBOOT = Path(__file__).resolve().parents[3] / "overlays/rootfs/usr/lib/evy-image/firstboot.py"
line = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30)


@given(hostname=line, country=st.sampled_from(["KE", "DE", "BR"]), keys=st.lists(line, min_size=1, max_size=3),
       mesh=st.text("0123456789abcdef", min_size=64, max_size=64), pin=st.text("0123456789", max_size=8))
def test_toml_round_trip(hostname, country, keys, mesh, pin):
    seed = KitSeed(hostname=hostname, country=country, ssh_authorized_keys=tuple(keys), mesh_key=mesh,
                   modem_pin=pin)
    assert KitSeed.from_toml(seed.to_toml()) == seed


def test_secrets_are_the_pin_and_the_mesh_key():
    seed = KitSeed("kit", "KE", ("ssh-ed25519 AAAA",), "ab" * 32, modem_pin="1234")
    assert seed.secrets() == {"mesh.key": "ab" * 32, "modem.pin": "1234"}


def test_missing_fields_are_named():
    with pytest.raises(SeedError, match=r"lacks country, mesh\.key"):
        KitSeed.from_toml('hostname = "kit"\nssh_authorized_keys = []\n')
    with pytest.raises(SeedError, match="not TOML"):
        KitSeed.from_toml("hostname = ")


@pytest.mark.skipif(not shutil.which("ssh-keygen"), reason="needs ssh-keygen (openssh-client)")
def test_each_run_gets_its_own_identity(tmp_path):
    first, key = make_test_seed(tmp_path / "a", "DE")
    second, _ = make_test_seed(tmp_path / "b", "DE")
    assert first.hostname != second.hostname and first.mesh_key != second.mesh_key
    assert first.ssh_authorized_keys[0].startswith("ssh-ed25519 ")
    assert first.ssh_authorized_keys != second.ssh_authorized_keys
    assert key.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")


@pytest.mark.skipif(not shutil.which("ssh-keygen"), reason="needs ssh-keygen (openssh-client)")
def test_the_agent_accepts_the_seeds_mesh_key(tmp_path):
    """First boot writes the seed's key to the key file as it is; the agent must then join with it."""
    from evy.mesh.keys import NetworkKey

    seed, _ = make_test_seed(tmp_path, "KE")
    key_file = tmp_path / "mesh.key"
    key_file.write_text(seed.mesh_key.lower() + "\n")
    assert NetworkKey.load(key_file).network_id >= 0


@pytest.mark.skipif(not FIRSTBOOT.exists() or not shutil.which("ssh-keygen"), reason="needs the image's firstboot.py")
def test_the_images_first_boot_accepts_the_harness_seed(tmp_path, monkeypatch):
    """The contract with the image: its own validator takes what the harness writes."""
    monkeypatch.syspath_prepend(str(FIRSTBOOT.parent))  # first boot imports its neighbours (growdata), as on the kit
    spec = importlib.util.spec_from_file_location("evy_firstboot", FIRSTBOOT)
    firstboot = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(firstboot)
    seed, _ = make_test_seed(tmp_path, "KE")
    data = tomllib.loads(seed.to_toml())
    assert firstboot.validate(data) == data
    assert "mesh" not in firstboot.public_part(data)  # the mesh key is what first boot wipes
