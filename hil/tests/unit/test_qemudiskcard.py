"""The QEMU disk as the kit's card: bmaptool writes it, mtools reaches its boot partition."""

from __future__ import annotations

import shutil

import pytest
from evyhil.driver import QEMUDiskCardDriver
from evyhil.errors import BootMediaError
from hil_fakes import CARD_TOOLS, make_card_image
from labgrid import Environment, Target

TOOLS = CARD_TOOLS
pytestmark = pytest.mark.skipif(not all(shutil.which(t) for t in TOOLS),
                                reason=f"needs {', '.join(TOOLS)} (Debian: bmap-tools dosfstools mtools)")



@pytest.fixture
def image(tmp_path):
    return make_card_image(tmp_path, {"cmdline.txt": b"root=LABEL=EVYROOT quiet\n"})


@pytest.fixture
def card(tmp_path, image):
    config = tmp_path / "env.yaml"
    config.write_text(f"targets: {{main: {{}}}}\nimages: {{card: {tmp_path}/work/card.img}}\n")
    target = Target("main", env=Environment(str(config)))
    driver = QEMUDiskCardDriver(target, "card", disk="card", size="64M")
    target.activate(driver)
    return driver


def test_write_then_edit_the_boot_partition(card, image):
    card.to_host()
    card.write_image(str(image))
    assert card.path.stat().st_size == 64 << 20  # grown to the card's size
    boot = card.boot_partition()
    assert boot.read("cmdline.txt") == b"root=LABEL=EVYROOT quiet\n"
    boot.write("evy-seed.toml", b'hostname = "kit-7"\n')
    assert "evy-seed.toml" in boot.listdir()
    assert boot.exists("EVY-SEED.TOML")
    boot.remove("evy-seed.toml")
    assert not boot.exists("evy-seed.toml")


def test_rewriting_starts_from_a_fresh_card(card, image):
    card.to_host()
    card.write_image(str(image))
    card.boot_partition().write("left-over", b"x")
    card.write_image(str(image))
    assert not card.boot_partition().exists("left-over")


def test_refuses_to_write_a_card_in_the_board(card, image):
    card.to_board()
    with pytest.raises(BootMediaError, match="in the board"):
        card.write_image(str(image))
    with pytest.raises(BootMediaError, match="in the board"):
        card.boot_partition()


def test_missing_image_is_a_clear_error(card, tmp_path):
    card.to_host()
    with pytest.raises(BootMediaError, match="does not exist"):
        card.write_image(str(tmp_path / "nope.img"))


def test_reading_a_missing_file_names_it(card, image):
    card.to_host()
    card.write_image(str(image))
    with pytest.raises(BootMediaError, match="mcopy"):
        card.boot_partition().read("nope.txt")
