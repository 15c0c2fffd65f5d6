import stat

import pytest

from evy.mesh.errors import KeyFileError
from evy.mesh.keys import NetworkKey, generate_key_file

from .conftest import SECRET


def test_no_key_configured_refuses_to_join():
    with pytest.raises(KeyFileError, match="refusing to join"):
        NetworkKey.load(None)
    with pytest.raises(KeyFileError, match="refusing to join"):
        NetworkKey.load("")


def test_key_file_with_comments(key_file, key):
    assert NetworkKey.load(key_file) == key


@pytest.mark.parametrize("text, message", [
    ("zz" * 16, "hex digits"), ("00" * 15, "holds 15 bytes"), ("00" * 16, "constant"), ("ab" * 16, "constant")])
def test_bad_key_files(tmp_path, text, message):
    path = tmp_path / "k"
    path.write_text(text)
    with pytest.raises(KeyFileError, match=message):
        NetworkKey.load(path)


def test_missing_key_file(tmp_path):
    with pytest.raises(KeyFileError, match="cannot read"):
        NetworkKey.load(tmp_path / "absent")


def test_keygen_is_private_random_and_never_overwrites(tmp_path):
    first = generate_key_file(tmp_path / "a.key")
    second = generate_key_file(tmp_path / "b.key")
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert NetworkKey.load(first) != NetworkKey.load(second)
    with pytest.raises(KeyFileError, match="exists"):
        generate_key_file(first)


def test_derived_values_differ_from_the_secret():
    key = NetworkKey.from_secret(SECRET)
    assert key.aead_key != SECRET and len(key.aead_key) == 16 and 0 <= key.network_id <= 0xFFFF
