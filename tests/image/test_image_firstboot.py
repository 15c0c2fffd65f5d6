"""The first-boot script on an unpacked tree: identity, seed applied to both roots, secrets wiped from FAT."""

import json
import shutil
import subprocess
import tomllib
from pathlib import Path

import firstboot
import pytest
from evyimage import agent, profile
from hypothesis import given, settings
from hypothesis import strategies as st

from evy.files import toml_document
from evy.mesh.keys import KEY_BYTES, NetworkKey

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
key = "00112233445566778899AABBCCDDEEFF"
"""
PROFILES = Path(__file__).resolve().parents[2] / "image" / "profiles"

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
    # The agent config exactly as the image build writes it, plus one setting of the kit's own.
    config = agent.image_config(profile.load(PROFILES / "field.toml"), True)
    config["llm"]["threads"] = 2
    text = agent.agent_config_text(config, "evy-field")
    for root in (dirs["root"], dirs["lower"]):
        (root / "etc/evy").mkdir(parents=True)
        (root / "etc/evy/evy.toml").write_text(text)
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
        assert config["mesh"]["enabled"] is True
        assert (root / "etc/ssh/authorized_keys/root").read_text().startswith("ssh-ed25519 ")
        wpa = (root / "etc/wpa_supplicant/wpa_supplicant-wlan0.conf").read_text()
        # IEEE 802.11i test vector: passphrase "password", SSID "IEEE"
        assert "psk=f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e" in wpa
        assert "password" not in wpa
        assert (root / "etc/systemd/system/multi-user.target.wants/wpa_supplicant@wlan0.service").is_symlink()
    assert (dirs["root"] / "etc/machine-id").read_text() == (dirs["lower"] / "etc/machine-id").read_text()
    assert (dirs["data"] / "ssh/ssh_host_ed25519_key").exists()
    assert (dirs["data"] / "secrets/mesh.key").stat().st_mode & 0o077 == 0
    assert not (dirs["boot"] / "evy-seed.toml").exists()
    applied = (dirs["boot"] / "evy-seed.applied.toml").read_text()
    assert "kit-07" in applied and "password" not in applied and "1234" not in applied and "0011" not in applied
    assert (dirs["data"] / ".firstboot-done").exists()
    assert json.loads((dirs["data"] / firstboot.STATUS_NAME).read_text())["seed"] == "applied"


@needs_keygen
def test_seeded_mesh_key_is_what_the_agent_config_points_at_and_loads(tmp_path, host_keys):
    """The kit's agent reads the seeded key: the image config's mesh.key_file is the file first boot wrote."""
    dirs = kit(tmp_path, keys=host_keys)
    assert run(dirs) == 0
    config = tomllib.loads((dirs["root"] / "etc/evy/evy.toml").read_text())
    key_file = Path(config["mesh"]["key_file"])
    assert key_file == Path(config["data_dir"]) / "secrets/mesh.key"
    stored = dirs["data"] / key_file.relative_to(config["data_dir"])
    assert NetworkKey.load(stored) == NetworkKey.from_secret(bytes.fromhex("00112233445566778899aabbccddeeff"))


def test_seed_mesh_key_takes_the_agents_key_format():
    good = "a1b2" * (KEY_BYTES // 2)
    assert firstboot.validate({"mesh": {"key": good}})
    for bad in ("a1" * (KEY_BYTES * 2), "a1" * (KEY_BYTES - 1), "00" * KEY_BYTES, "zz" * KEY_BYTES):
        with pytest.raises(firstboot.SeedError, match=r"mesh\.key"):
            firstboot.validate({"mesh": {"key": bad}})


@settings(max_examples=100, deadline=None)
@given(secret=st.binary(min_size=KEY_BYTES, max_size=KEY_BYTES).filter(lambda b: len(set(b)) > 1))
def test_every_key_the_seed_accepts_the_agent_accepts(secret):
    stored = firstboot.check_mesh_key(secret.hex().upper())
    assert NetworkKey.from_secret(bytes.fromhex(stored)) == NetworkKey.from_secret(secret)


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
def test_bad_seed_is_wiped_and_reported(tmp_path, capsys, host_keys, seed, message):
    dirs = kit(tmp_path, seed, host_keys)
    assert run(dirs) == 1
    assert message in capsys.readouterr().out
    assert not (dirs["boot"] / "evy-seed.toml").exists()  # it may hold secrets: never left on FAT
    assert message in (dirs["boot"] / firstboot.REJECTED_NAME).read_text()
    status = json.loads((dirs["data"] / firstboot.STATUS_NAME).read_text())
    assert status["seed"] == "rejected" and message in status["error"]
    assert (dirs["data"] / "ssh/ssh_host_ed25519_key").exists()
    assert not (dirs["lower"] / "etc/hostname").exists()


@needs_keygen
def test_rejected_seed_keeps_no_secret_and_a_corrected_seed_is_applied_at_the_next_boot(tmp_path, capsys,
                                                                                       host_keys):
    bad = SEED.replace('pin = "1234"', 'pin = "1234"\npuk = "87654321"').replace('psk = "password"', "psk = 31415926")
    dirs = kit(tmp_path, bad, host_keys)
    assert run(dirs) == 1
    shown = capsys.readouterr().out + (dirs["boot"] / firstboot.REJECTED_NAME).read_text()
    shown += (dirs["data"] / firstboot.STATUS_NAME).read_text()
    for secret in ("31415926", "87654321", "1234", "0011", "AABB"):
        assert secret not in shown
    assert "wifi.psk" in shown and "modem.puk" in shown
    assert not list(dirs["boot"].glob("evy-seed.toml*"))
    assert (dirs["data"] / firstboot.DONE_MARKER).exists()  # identity is done; the seed is retried
    (dirs["boot"] / "evy-seed.toml").write_text(SEED)
    assert run(dirs) == 0
    assert "SSH host keys" not in capsys.readouterr().out  # identity was made once, on the first boot
    assert (dirs["lower"] / "etc/hostname").read_text() == "kit-07\n"
    assert not (dirs["boot"] / firstboot.REJECTED_NAME).exists()
    assert json.loads((dirs["data"] / firstboot.STATUS_NAME).read_text()) | {"time": ""} == {
        "seed": "applied", "error": None, "time": ""}


_scalars = st.one_of(st.text(max_size=20), st.integers(-10**6, 10**6), st.booleans(),
                     st.floats(allow_nan=False, allow_infinity=False))
_tables = st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True),
                          st.one_of(_scalars, st.lists(st.text(max_size=8), max_size=3)), max_size=4)


@settings(max_examples=200, deadline=None)
@given(top=_tables, sub=st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), _tables, max_size=3))
def test_toml_writer_round_trips(top, sub):
    data = {**{k: v for k, v in top.items() if k not in sub}, **sub}
    assert tomllib.loads(firstboot.dumps_toml(data)) == data
    assert firstboot.dumps_toml(data).strip() == toml_document(data).strip()  # the agent-free twin writes the same


@settings(max_examples=100, deadline=None)
@given(psk=st.text(min_size=8, max_size=63).filter(lambda s: "\n" not in s and "\r" not in s and "\0" not in s),
       pin=st.from_regex(r"[0-9]{4,8}", fullmatch=True))
def test_public_part_never_keeps_secrets(psk, pin):
    seed = firstboot.validate({"country": "KE", "wifi": {"mode": "client", "ssid": "net", "psk": psk},
                               "modem": {"pin": pin}})
    public = firstboot.public_part(seed)
    assert "psk" not in public["wifi"] and "modem" not in public
    assert tomllib.loads(firstboot.dumps_toml(public)) == public


@needs_keygen
def test_seeded_console_password_reaches_the_console_and_never_the_boot_partition(tmp_path, host_keys):
    """The seed's [console] hash lands in the agent config, where `evy console` reads it and lets the
    operator in; the record left on the FAT partition keeps no hash."""
    from evy.config import load
    from evy.console.auth import accounts, hash_password, verify_password

    password_hash = hash_password("the operator's passphrase")
    dirs = kit(tmp_path, f'country = "KE"\n[console]\noperator_password_hash = "{password_hash}"\n', host_keys)
    assert run(dirs) == 0
    config = load(dirs["root"] / "etc/evy/evy.toml")
    role, stored = accounts(config)["operator"]
    assert role == "operator"
    assert verify_password(stored, "the operator's passphrase") and not verify_password(stored, "guess")
    assert "argon2" not in (dirs["boot"] / "evy-seed.applied.toml").read_text()


def test_a_console_password_in_clear_is_refused():
    with pytest.raises(firstboot.SeedError, match=r"console\.operator_password_hash: expected an argon2id hash"):
        firstboot.validate({"console": {"operator_password_hash": "hunter2hunter2"}})
    with pytest.raises(firstboot.SeedError, match=r"console\.password: unknown key"):
        firstboot.validate({"console": {"password": "x"}})
