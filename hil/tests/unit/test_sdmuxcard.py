"""The rig's card driver: mux modes, bmaptool through USBStorageDriver, the FAT partition over dd + mtools.

labgrid's mux and storage drivers are subclassed to record calls instead of running usbsdmux/udisks2; the
"block device" is a card image file, which dd and mtools read the same way.
"""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import attr
import pytest
from evyhil.driver import SDMuxCardDriver
from evyhil.errors import BootMediaError
from hil_fakes import CARD_TOOLS, make_card_image
from labgrid import Target
from labgrid.driver import USBSDMuxDriver, USBStorageDriver
from labgrid.driver.usbstoragedriver import Mode

pytestmark = pytest.mark.skipif(not all(shutil.which(t) for t in CARD_TOOLS), reason="needs dosfstools mtools")


@attr.s(eq=False)
class RecordingMux(USBSDMuxDriver):
    bindings = {}  # noqa: RUF012 — labgrid's convention
    modes = attr.ib(factory=list)

    def set_mode(self, mode):
        self.modes.append(mode)


@attr.s(eq=False)
class RecordingStorage(USBStorageDriver):
    bindings = {}  # noqa: RUF012
    writes = attr.ib(factory=list)
    fail = attr.ib(default=False)

    def write_image(self, filename=None, mode=Mode.DD, partition=None, skip=0, seek=0):
        if self.fail:
            raise RuntimeError("Timeout while waiting for medium")
        self.writes.append((filename, mode))


def make(tmp_path, fail=False):
    target = Target("main")
    mux = RecordingMux(target, "mux")
    storage = RecordingStorage(target, "storage", fail=fail)
    card_file = make_card_image(tmp_path, {"cmdline.txt": b"root=LABEL=EVYROOT\n"})
    storage.storage = SimpleNamespace(path=str(card_file), command_prefix=[])
    card = SDMuxCardDriver(target, "card")
    target.activate(card)
    return card, mux, storage


def test_switches_writes_with_bmaptool_and_edits_the_boot_partition(tmp_path):
    card, mux, storage = make(tmp_path)
    card.to_host()
    card.write_image("/out/evy-field.img")
    boot = card.boot_partition()
    boot.write("evy-seed.toml", b'hostname = "kit"\n')
    card.to_board()
    assert mux.modes == ["host", "dut"]
    assert storage.writes == [("/out/evy-field.img", Mode.BMAPTOOL)]
    assert boot.read("cmdline.txt") == b"root=LABEL=EVYROOT\n"
    assert boot.exists("evy-seed.toml")


def test_write_failure_is_a_boot_media_error(tmp_path):
    card, _, _ = make(tmp_path, fail=True)
    with pytest.raises(BootMediaError, match="waiting for medium"):
        card.write_image("/out/evy-field.img")


def test_missing_block_device_is_named(tmp_path):
    card, _, storage = make(tmp_path)
    storage.storage = SimpleNamespace(path=str(tmp_path / "sdz"), command_prefix=[])
    with pytest.raises(BootMediaError, match="cannot read the partition table"):
        card.boot_partition()
