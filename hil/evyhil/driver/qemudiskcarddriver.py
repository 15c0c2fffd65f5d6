"""The virtio disk of a QEMUDriver, handled as if it were the kit's SD card."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import attr
from labgrid.driver.common import Driver
from labgrid.factory import target_factory
from labgrid.step import step
from labgrid.util.helper import processwrapper

from ..bmap import bmaptool_copy_args
from ..errors import BootMediaError
from ..fatfs import BootPartition
from ..mbr import SECTOR, boot_partition
from ..protocol import BootMediaProtocol

_SIZE_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(text: str) -> int:
    """'4G' → bytes; plain digits are bytes."""
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    try:
        if text and text[-1] in _SIZE_UNITS:
            return int(text[:-1]) * _SIZE_UNITS[text[-1]]
        return int(text)
    except ValueError as exc:
        raise BootMediaError(f"card size {text!r} is not a size like 4G or 512M") from exc


@target_factory.reg_driver
@attr.s(eq=False)
class QEMUDiskCardDriver(Driver, BootMediaProtocol):
    """A QEMU disk file as the SD card: written with bmaptool on the "host side" while the VM is off.

    Args:
        disk (str): the images key of the disk file, the same key as QEMUDriver's ``disk``
        size (str): optional, grow the written disk to this size (a real card is bigger than the image)
    """

    bindings: ClassVar[dict] = {}
    disk = attr.ib(validator=attr.validators.instance_of(str))
    size = attr.ib(default=None, validator=attr.validators.optional(attr.validators.instance_of(str)))

    def __attrs_post_init__(self):
        super().__attrs_post_init__()
        self.side = "board"  # where a card starts: in the board's slot
        self.path: Path | None = None
        self.tool = self.target.env.config.get_tool("bmaptool") if self.target.env else "bmaptool"

    def on_activate(self):
        if self.target.env is None:
            raise BootMediaError("QEMUDiskCardDriver needs an environment with an images section")
        self.path = Path(self.target.env.config.get_image_path(self.disk))

    def on_deactivate(self):
        self.path = None

    @Driver.check_active
    @step()
    def to_host(self):
        self.side = "host"

    @Driver.check_active
    @step()
    def to_board(self):
        self.side = "board"

    def _require_host_side(self, action: str) -> Path:
        if self.side != "host":
            raise BootMediaError(f"cannot {action} {self.path}: the card is in the board (call to_host first)")
        return self.path

    @Driver.check_active
    @step(args=["image"])
    def write_image(self, image: str):
        path = self._require_host_side("write")
        if not Path(image).is_file():
            raise BootMediaError(f"image {image} does not exist (build it with `invoke build-image`)")
        path.parent.mkdir(parents=True, exist_ok=True)
        # A fresh file each time: the QEMU disk must not keep what the last run left where bmap skips.
        path.unlink(missing_ok=True)
        try:
            processwrapper.check_output([self.tool, *bmaptool_copy_args(image, str(path))])
        except Exception as exc:
            raise BootMediaError(f"bmaptool could not write {image} to {path}: {exc}") from exc
        if self.size:
            wanted = parse_size(self.size)
            if wanted > path.stat().st_size:
                os.truncate(path, wanted)

    @Driver.check_active
    def boot_partition(self) -> BootPartition:
        path = self._require_host_side("read")
        try:
            with open(path, "rb") as disk:
                sector0 = disk.read(SECTOR)
        except OSError as exc:
            raise BootMediaError(f"cannot read {path}: {exc.strerror}") from exc
        return BootPartition(str(path), boot_partition(sector0).offset)
