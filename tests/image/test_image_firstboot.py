"""The first-boot script on an unpacked tree: identity, seed applied to both roots, secrets wiped from FAT."""

import shutil
import subprocess
import tomllib
from pathlib import Path

import firstboot
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

SEED = """hostname = "kit-07"
country = "KE"
ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleExampleExampleExampleExample00 tech@hq"]
[wifi]
mode = "client"
ssid = "IEEE"
psk = "password"
[modem]
pin = "1234"
[mesh]
key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
"""
needs_keygen = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen (openssh-client)")


@pytest.fixture(scope="module")
def host_keys(tmp_path_factory) -> Path:
    """Host keys made once (RSA generation is slow on a shared CPU); the script keeps existing keys."""
    folder = tmp_path_factory.mktemp("keys")
    for kind in ("ed25519", "rsa"):
        bits = ["-b", "1024"] if kind == "rsa" else []
        subprocess.run(["ssh-keygen", "-q", "-t", kind, *bits, "-N", "", "-f", str(folder / f"ssh_host_{kind}_key")],
                       check=True)
    return folder


def kit(tmp_path: Path, seed: str | None = SEED, keys: Path | None = None) -> dict[str, Path]:
    dirs = {name: tmp_path / name for name in ("root", "lower", "boot", "data")}
    for path in dirs.values():
        path.mkdir()
    if keys is not None:
        shutil.copytree(keys, dirs["data"] / "ssh")
    for root in (dirs["root"], dirs["lower"]):
        (root / "etc/evy").mkdir(parents=True)
        (root / "etc/evy/evy.toml").write_text('data_dir = "/var/lib/evy"\n\n[llm]\nthreads = 2\n')
        (root / "etc/machine-id").write_text("")
    if seed is not None:
        (dirs["boot"] / "evy-seed.toml").write_text(seed)
    return dirs


def run(dirs: dict[str, Path]) -> int:
    return firstboot.main(["--root", str(dirs["root"]), "--lower", str(dirs["lower"]), "--boot", str(dirs["boot"]),
                           "--data-dir", str(dirs["data"]), "--no-remount"])


@needs_keygen
def test_seed_applied_once_and_wiped(tmp_path):
    dirs = kit(tmp_path)
    assert run(dirs) == 0
    for root in (dirs["root"], dirs["lower"]):
        assert (root / "etc/hostname").read_text() == "kit-07\n"
        assert len((root / "etc/machine-id").read_text().strip()) == 32
        config = tomllib.loads((root / "etc/evy/evy.toml").read_text())
        assert config["country"] == "KE" and config["modem"]["pin"] == "1234" and config["llm"]["threads"] == 2
        wpa = (root / "etc/wpa_supplicant/wpa_supplicant-wlan0.conf").read_text()
        # IEEE 802.11i test vector: passphrase "password", SSID "IEEE"
        assert "psk=f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e" in wpa
        assert "password" not in wpa
        assert (root / "etc/systemd/system/multi-user.target.wants/wpa_supplicant@wlan0.service").is_symlink()
    assert (dirs["root"] / "etc/machine-id").read_text() == (dirs["lower"] / "etc/machine-id").read_text()
    assert (dirs["data"] / "ssh/ssh_host_ed25519_key").exists()
    assert (dirs["data"] / "ssh/authorized_keys/root").read_text().startswith("ssh-ed25519 ")
    assert (dirs["data"] / "secrets/mesh.key").stat().st_mode & 0o077 == 0
    assert not (dirs["boot"] / "evy-seed.toml").exists()
    applied = (dirs["boot"] / "evy-seed.applied.toml").read_text()
    assert "kit-07" in applied and "password" not in applied and "1234" not in applied and "0011" not in applied
    assert (dirs["data"] / ".firstboot-done").exists()


@needs_keygen
def test_access_point_mode(tmp_path, host_keys):
    dirs = kit(tmp_path, 'country = "DE"\n[wifi]\nmode = "ap"\nssid = "EVY-help"\npsk = "12345678"\nchannel = 11\n',
               host_keys)
    assert run(dirs) == 0
    hostapd = (dirs["lower"] / "etc/hostapd/hostapd.conf").read_text()
    assert "ssid=EVY-help" in hostapd and "channel=11" in hostapd and "country_code=DE" in hostapd
    assert "12345678" not in hostapd
    assert "DHCPServer=yes" in (dirs["lower"] / "etc/systemd/network/25-wireless.network").read_text()


@needs_keygen
def test_no_seed_still_makes_identity(tmp_path, host_keys):
    dirs = kit(tmp_path, seed=None, keys=host_keys)
    assert run(dirs) == 0
    assert (dirs["data"] / "ssh/ssh_host_rsa_key").exists()
    assert not (dirs["lower"] / "etc/hostname").exists()


@needs_keygen
@pytest.mark.parametrize(("seed", "message"), [
    ('hostname = "Bad_Host"\n', "hostname"),
    ('[wifi]\nmode = "client"\nssid = "x"\npsk = "short"\n', "wifi.psk"),
    ('[wifi]\nmode = "client"\nssid = "x"\npsk = "longenough"\n', "needs `country`"),
    ('[modem]\npin = "12ab"\n', "modem.pin"),
    ('colour = "red"\n', "colour: unknown key"),
    ('hostname = \n', "not valid TOML"),
])
def test_bad_seed_is_left_in_place_and_reported(tmp_path, capsys, host_keys, seed, message):
    dirs = kit(tmp_path, seed, host_keys)
    assert run(dirs) == 1
    assert message in capsys.readouterr().out
    assert (dirs["boot"] / "evy-seed.toml").read_text() == seed  # the technician can fix it
    assert (dirs["data"] / "ssh/ssh_host_ed25519_key").exists()
    assert not (dirs["lower"] / "etc/hostname").exists()


_scalars = st.one_of(st.text(max_size=20), st.integers(-10**6, 10**6), st.booleans(),
                     st.floats(allow_nan=False, allow_infinity=False))
_tables = st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True),
                          st.one_of(_scalars, st.lists(st.text(max_size=8), max_size=3)), max_size=4)


@settings(max_examples=200, deadline=None)
@given(top=_tables, sub=st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), _tables, max_size=3))
def test_toml_writer_round_trips(top, sub):
    data = {**{k: v for k, v in top.items() if k not in sub}, **sub}
    assert tomllib.loads(firstboot.dumps_toml(data)) == data


@settings(max_examples=100, deadline=None)
@given(psk=st.text(min_size=8, max_size=63).filter(lambda s: "\n" not in s and "\r" not in s and "\0" not in s),
       pin=st.from_regex(r"[0-9]{4,8}", fullmatch=True))
def test_public_part_never_keeps_secrets(psk, pin):
    seed = firstboot.validate({"country": "KE", "wifi": {"mode": "client", "ssid": "net", "psk": psk},
                               "modem": {"pin": pin}})
    public = firstboot.public_part(seed)
    assert "psk" not in public["wifi"] and "modem" not in public
    assert tomllib.loads(firstboot.dumps_toml(public)) == public
