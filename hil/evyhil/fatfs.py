"""Files on a FAT boot partition through mtools: no mount, no loop device, no root needed.

The same commands work on a QEMU disk file and on a card reader's block device on a (remote) rig host:
the command prefix (empty locally, ``ssh HOST`` on an exporter) comes from labgrid's resource.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from .errors import BootMediaError


class BootPartition:
    """The FAT partition at ``offset`` bytes into ``device`` (a file or a block device)."""

    def __init__(self, device: str, offset: int, command_prefix: Sequence[str] = ()):
        self.device = device
        self.offset = offset
        self.command_prefix = list(command_prefix)

    @property
    def _image(self) -> str:
        return f"{self.device}@@{self.offset}" if self.offset else self.device

    def _mtools(self, tool: str, *args: str, data: bytes | None = None) -> bytes:
        command = [*self.command_prefix, tool, "-i", self._image, *args]
        try:
            done = subprocess.run(command, input=data, capture_output=True, check=False, timeout=120)
        except FileNotFoundError as exc:
            raise BootMediaError(f"{tool} not found: install mtools on the rig host") from exc
        if done.returncode != 0:
            detail = done.stderr.decode(errors="replace").strip().splitlines()
            raise BootMediaError(f"{tool} on {self._image} failed: {detail[-1] if detail else done.returncode}")
        return done.stdout

    def listdir(self) -> list[str]:
        """File names in the partition's root folder."""
        out = self._mtools("mdir", "-b", "::")
        return sorted(line.removeprefix("::/") for line in out.decode(errors="replace").splitlines() if line)

    def exists(self, name: str) -> bool:
        return name.lower() in (entry.lower() for entry in self.listdir())

    def read(self, name: str) -> bytes:
        return self._mtools("mcopy", "-n", f"::{name}", "-")

    def write(self, name: str, data: bytes) -> None:
        """Create or replace ``name`` (root folder only)."""
        self._mtools("mcopy", "-o", "-", f"::{name}", data=data)

    def remove(self, name: str) -> None:
        self._mtools("mdel", f"::{name}")
