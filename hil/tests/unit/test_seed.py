"""The per-kit seed file: TOML round trip, required fields, a fresh key per run."""

from __future__ import annotations

import shutil

import pytest
from evyhil.errors import SeedError
from evyhil.seed import KitSeed, make_test_seed
from hypothesis import given
from hypothesis import strategies as st

text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)


@given(hostname=text, country=st.sampled_from(["KE", "DE", "BR"]), keys=st.lists(text, min_size=1, max_size=3),
       mesh=st.text("0123456789abcdef", min_size=32, max_size=32), pin=st.text("0123456789", max_size=8))
def test_toml_round_trip(hostname, country, keys, mesh, pin):
    seed = KitSeed(hostname=hostname or "kit", country=country, ssh_authorized_keys=keys, mesh_key=mesh,
                   modem_pin=pin, extra={"operator_note": 'say "hi"'})
    assert KitSeed.from_toml(seed.to_toml()) == seed


def test_secrets_are_the_pin_and_keys_only():
    seed = KitSeed("kit", "KE", ["ssh-ed25519 AAAA"], "ab" * 16, modem_pin="1234")
    assert seed.secrets() == {"mesh_key": "ab" * 16, "modem_pin": "1234"}


def test_missing_fields_are_named():
    with pytest.raises(SeedError, match="lacks country, mesh_key"):
        KitSeed.from_toml('hostname = "kit"\nssh_authorized_keys = []\n')
    with pytest.raises(SeedError, match="not TOML"):
        KitSeed.from_toml("hostname = ")


@pytest.mark.skipif(not shutil.which("ssh-keygen"), reason="needs ssh-keygen (openssh-client)")
def test_each_run_gets_its_own_host_name_and_key(tmp_path):
    first, key = make_test_seed(tmp_path / "a", "DE")
    second, _ = make_test_seed(tmp_path / "b", "DE")
    assert first.hostname != second.hostname
    assert first.ssh_authorized_keys[0].startswith("ssh-ed25519 ")
    assert first.ssh_authorized_keys != second.ssh_authorized_keys
    assert key.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
