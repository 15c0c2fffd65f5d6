"""A real SD card behind a USB-SD-Mux or SDWire: switched between the rig host and the Pi."""

from __future__ import annotations

import subprocess
from typing import ClassVar

import attr
from labgrid.driver.common import Driver
from labgrid.driver.usbstoragedriver import Mode
from labgrid.factory import target_factory
from labgrid.step import step

from ..errors import BootMediaError
from ..fatfs import BootPartition
from ..mbr import SECTOR, boot_partition
from ..protocol import BootMediaProtocol


@target_factory.reg_driver
@attr.s(eq=False)
class SDMuxCardDriver(Driver, BootMediaProtocol):
    """The card of a Pi on a rig: labgrid's mux driver switches it, USBStorageDriver writes it (bmaptool).

    The boot partition is reached with mtools on the card reader's block device, through the resource's
    command prefix, so it works on a remote exporter as well as on the local host.
    """

    bindings: ClassVar[dict] = {
        "mux": {"USBSDMuxDriver", "USBSDWireDriver"},
        "storage": "USBStorageDriver",
    }

    def on_activate(self):
        pass

    def on_deactivate(self):
        pass

    @Driver.check_active
    @step()
    def to_host(self):
        self.mux.set_mode("host")

    @Driver.check_active
    @step()
    def to_board(self):
        self.mux.set_mode("dut")

    @Driver.check_active
    @step(args=["image"])
    def write_image(self, image: str):
        try:
            self.storage.write_image(filename=image, mode=Mode.BMAPTOOL)
        except Exception as exc:
            raise BootMediaError(f"writing {image} to the card failed: {exc}") from exc

    @Driver.check_active
    def boot_partition(self) -> BootPartition:
        resource = self.storage.storage
        device = resource.path
        if not device:
            raise BootMediaError("the card reader has no block device (is the card on the host side?)")
        prefix = list(resource.command_prefix)
        command = [*prefix, "dd", f"if={device}", f"bs={SECTOR}", "count=1", "status=none"]
        done = subprocess.run(command, capture_output=True, check=False, timeout=60)
        if done.returncode != 0:
            raise BootMediaError(f"cannot read the partition table of {device}: "
                                 f"{done.stderr.decode(errors='replace').strip()}")
        return BootPartition(device, boot_partition(done.stdout).offset, prefix)
