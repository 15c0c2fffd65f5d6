"""Twins for the strategy's unit tests: labgrid's fake power and console, plus a shell and a card that
record what the strategy asked of them and can be told to fail."""

from __future__ import annotations

import attr
from evyhil.errors import BootMediaError
from evyhil.protocol import BootMediaProtocol
from labgrid.driver.commandmixin import CommandMixin
from labgrid.driver.common import Driver
from labgrid.driver.fake import FakeConsoleDriver, FakePowerDriver
from labgrid.protocol import CommandProtocol, ConsoleProtocol


@attr.s(eq=False)
class RecordingPowerDriver(FakePowerDriver):
    log = attr.ib(factory=list)

    @Driver.check_active
    def on(self, *args):
        self.log.append("power.on")

    @Driver.check_active
    def off(self, *args):
        self.log.append("power.off")


@attr.s(eq=False)
class BootingConsoleDriver(FakeConsoleDriver):
    """A console on which `systemctl is-system-running --wait` answers ``system_state``."""

    system_state = attr.ib(default="running")
    log = attr.ib(factory=list)

    def _write(self, data, *args):
        if b"is-system-running --wait" in data:
            self.log.append("console: " + data.decode().strip())
            self.rxq.insert(0, b"EVY-STATE=" + self.system_state.encode() + b"\r\n")
        return len(data)


@attr.s(eq=False)
class ScriptedShellDriver(CommandMixin, Driver, CommandProtocol):
    """Answers `systemctl is-system-running --wait` with ``system_state``; ``fail`` makes the login fail."""

    bindings = {"console": ConsoleProtocol}  # noqa: RUF012 — labgrid's own convention
    log = attr.ib(factory=list)
    system_state = attr.ib(default="running")
    fail = attr.ib(default=False)

    def on_activate(self):
        if self.fail:
            raise TimeoutError("Timeout of 150 seconds exceeded during waiting for login")
        self.log.append("shell.login")

    @Driver.check_active
    def run(self, cmd, timeout=30.0):
        self.log.append(f"shell.run {cmd}")
        return [self.system_state], [], 0 if self.system_state == "running" else 1

    @Driver.check_active
    def get_status(self):
        return 1


class FakeBootPartition:
    def __init__(self, files: dict[str, bytes], log: list[str]):
        self.files, self.log = files, log

    def read(self, name: str) -> bytes:
        return self.files[name]

    def write(self, name: str, data: bytes) -> None:
        self.log.append(f"boot.write {name}")
        self.files[name] = data


@attr.s(eq=False)
class FakeCardDriver(Driver, BootMediaProtocol):
    """A card whose ``fail_on`` step ("to_host", "write_image", "to_board") raises BootMediaError."""

    log = attr.ib(factory=list)
    fail_on = attr.ib(default="")

    def __attrs_post_init__(self):
        super().__attrs_post_init__()
        self.files = {"cmdline.txt": b"console=serial0,115200 root=LABEL=EVYROOT overlayroot=tmpfs\n"}

    def _do(self, what: str) -> None:
        if what == self.fail_on:
            raise BootMediaError(f"{what}: medium not present")
        self.log.append(f"card.{what}")

    @Driver.check_active
    def to_host(self):
        self._do("to_host")

    @Driver.check_active
    def to_board(self):
        self._do("to_board")

    @Driver.check_active
    def write_image(self, image):
        self._do("write_image")
        self.log.append(f"image {image}")

    @Driver.check_active
    def boot_partition(self):
        return FakeBootPartition(self.files, self.log)


FAT_START, FAT_SECTORS = 2048, 16 * 2048  # a 16 MiB FAT partition at 1 MiB, like the builder's layout
CARD_TOOLS = ("bmaptool", "mkfs.vfat", "mcopy")


def make_card_image(folder, files: dict[str, bytes], fat_sectors: int = FAT_SECTORS):
    """A small card image: MBR, a FAT boot partition holding ``files``, and an ext4-typed partition."""
    import subprocess

    from evyhil import mbr

    fat = folder / "boot.vfat"
    subprocess.run(["mkfs.vfat", "-n", "EVYBOOT", "-C", str(fat), str(fat_sectors // 2)], check=True,
                   capture_output=True)
    for name, data in files.items():
        subprocess.run(["mcopy", "-i", str(fat), "-", f"::{name}"], input=data, check=True)
    path = folder / "evy-test.img"
    with open(path, "wb") as disk:
        disk.write(mbr.build([mbr.Partition(1, 0x0C, FAT_START, fat_sectors, bootable=True),
                              mbr.Partition(2, 0x83, FAT_START + fat_sectors, 2048)]))
        disk.seek(FAT_START * 512)
        disk.write(fat.read_bytes())
        disk.truncate((FAT_START + fat_sectors + 2048) * 512)
    fat.unlink()
    return path
