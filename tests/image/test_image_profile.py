"""Profile loading and validation: the shipped profiles, errors that name the key, extends, the doc table."""

from pathlib import Path

import pytest
from evyimage import base, profile
from evyimage.errors import ProfileError
from hypothesis import given, settings
from hypothesis import strategies as st

PROFILES = Path(__file__).resolve().parents[2] / "image" / "profiles"


def load_text(tmp_path: Path, text: str) -> profile.Profile:
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    return profile.load(path)


def field_data() -> dict:
    return profile._read(PROFILES / "field.toml")


def test_shipped_profiles_are_valid_and_share_one_base():
    field = profile.load(PROFILES / "field.toml")
    hil = profile.load(PROFILES / "hil.toml")
    assert field.name == "evy-field" and not field["image.test_login"]
    assert hil.name == "evy-hil" and hil["image.test_login"]
    assert hil["agent.config"]["modem"]["port"] == "/dev/ttyUSB0"
    assert hil["agent.config"]["data_dir"] == field["agent.config"]["data_dir"]
    assert base.cache_key(field) == base.cache_key(hil)


def test_field_profile_has_no_password_path():
    field = profile.load(PROFILES / "field.toml")
    assert field["image.test_login"] is False
    assert "overlay" in field["base.initramfs_modules"]
    for needed in ("overlayroot", "e2fsprogs", "busybox", "login"):
        assert needed in field["base.packages"]


def test_both_profiles_carry_the_lora_driver_dependencies():
    """The SX1276 driver (agent/evy/mesh) needs GPIO lines and the SPI bus from Debian's Python bindings."""
    for name in ("field.toml", "hil.toml"):
        packages = profile.load(PROFILES / name)["base.packages"]
        assert {"python3-libgpiod", "python3-spidev"} <= set(packages), name


def test_resolve_by_name_and_unknown_name():
    assert profile.resolve("field", PROFILES) == PROFILES / "field.toml"
    with pytest.raises(ProfileError, match=r"not found.*field"):
        profile.resolve("nosuch", PROFILES)


@pytest.mark.parametrize(("text", "message"), [
    ("[image]\nname = 'x'\nnmae = 1\n", r"image\.nmae: unknown key"),
    ("[imgae]\nname = 'x'\n", r"\[imgae\]: unknown section"),
    ("[image]\nhostname = 'x'\n", r"image\.name: missing"),
    ("[image]\nname = 'Bad Name'\n", r"image\.name: expected a name"),
    ("[image]\nname = 'x'\n[partitions]\nboot_mib = 8\n", r"partitions\.boot_mib: must be from 64"),
    ("[image]\nname = 'x'\n[partitions]\ndata_mib = true\n", r"partitions\.data_mib: expected an integer"),
    ("[image]\nname = 'x'\n[base]\ncomponents = []\n", r"base\.components: needs at least 1"),
    ("[image]\nname = = 'x'\n", r"not valid TOML"),
])
def test_bad_profiles_name_the_key(tmp_path, text, message):
    with pytest.raises(ProfileError, match=message):
        load_text(tmp_path, text)


def test_consistency_checks(tmp_path):
    data = field_data()
    data["base"]["initramfs_modules"] = ["ext4"]
    with pytest.raises(ProfileError, match="must include `overlay`"):
        profile.parse(data, Path("x.toml"))
    data = field_data()
    data["base"]["packages"] = [p for p in data["base"]["packages"] if p != "busybox"]
    with pytest.raises(ProfileError, match=r"missing required package.*busybox"):
        profile.parse(data, Path("x.toml"))
    data = field_data()
    data["base"]["packages"] = [*data["base"]["packages"], "linux-image-arm64"]
    with pytest.raises(ProfileError, match="duplicate entries: linux-image-arm64"):
        profile.parse(data, Path("x.toml"))


def test_extends_merges_tables_and_detects_cycles(tmp_path):
    (tmp_path / "a.toml").write_text((PROFILES / "field.toml").read_text())
    (tmp_path / "b.toml").write_text("extends = 'a'\n[image]\nname = 'b'\n[agent.config]\nlog_level = 'debug'\n")
    child = profile.load(tmp_path / "b.toml")
    assert child.name == "b"
    assert child["agent.config"] == {"data_dir": "/var/lib/evy", "log_level": "debug"}
    assert child["base.packages"] == profile.load(tmp_path / "a.toml")["base.packages"]
    (tmp_path / "c.toml").write_text("extends = 'c'\n")
    with pytest.raises(ProfileError, match="cycle"):
        profile.load(tmp_path / "c.toml")


def test_reference_lists_every_field():
    table = profile.reference_markdown()
    for field in profile.FIELDS:
        assert f"`{field.key}`" in table


def test_cache_key_follows_packages_not_agent():
    data = field_data()
    key = base.cache_key(profile.parse(data, Path("x.toml")))
    data["agent"]["models"] = []
    data["overlays"]["dirs"] = []
    assert base.cache_key(profile.parse(data, Path("x.toml"))) == key
    data["base"]["packages"] = [*data["base"]["packages"], "nano"]
    assert base.cache_key(profile.parse(data, Path("x.toml"))) != key


_values = st.one_of(st.integers(), st.booleans(), st.text(max_size=20), st.lists(st.text(max_size=5), max_size=3),
                    st.floats(allow_nan=False))


@settings(max_examples=150, deadline=None)
@given(key=st.sampled_from([f.key for f in profile.FIELDS]), value=_values)
def test_any_value_either_parses_or_fails_with_the_key(key, value):
    data = field_data()
    section, name = key.split(".")
    data.setdefault(section, {})[name] = value
    try:
        loaded = profile.parse(data, Path("p.toml"))
    except ProfileError as exc:
        assert str(exc).startswith("p.toml: ")
        assert "\n" not in str(exc)
    else:
        assert key in loaded.values


@settings(max_examples=60, deadline=None)
@given(name=st.text(min_size=1, max_size=12).filter(lambda s: s.isidentifier()))
def test_unknown_keys_are_always_rejected(name):
    data = field_data()
    known = {f.key.split(".")[1] for f in profile.FIELDS if f.section == "partitions"}
    if name in known:
        return
    data["partitions"][name] = 1
    with pytest.raises(ProfileError, match=f"partitions.{name}: unknown key"):
        profile.parse(data, Path("p.toml"))


def test_docs_carry_the_generated_reference():
    doc = (PROFILES.parents[1] / "docs" / "image.md").read_text(encoding="utf-8")
    assert profile.reference_markdown() in doc, \
        "regenerate the table in docs/image.md from profile.reference_markdown()"
