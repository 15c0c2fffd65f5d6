"""List the files in an initramfs (concatenated newc cpio archives, each raw or compressed) without unpacking
it or needing the target's tools, so the build can check the overlay module and overlayroot are inside."""

from __future__ import annotations

import gzip
import lzma
import shutil
import subprocess

from evyimage.errors import BootFilesError

_NEWC = (b"070701", b"070702")
_MAGICS = {b"\x28\xb5\x2f\xfd": "zstd", b"\x1f\x8b": "gzip", b"\xfd7zXZ": "xz", b"\x5d\x00\x00": "lzma"}


def _decompress(data: bytes) -> bytes:
    for magic, kind in _MAGICS.items():
        if data.startswith(magic):
            if kind == "gzip":
                return gzip.decompress(data)
            if kind in ("xz", "lzma"):
                return lzma.decompress(data)
            if shutil.which("zstd") is None:
                raise BootFilesError("the initramfs is zstd-compressed and the host has no zstd (apt install zstd)")
            return subprocess.run(["zstd", "-dcq"], input=data, capture_output=True, check=True).stdout
    raise BootFilesError(f"initramfs segment with unknown format (starts {data[:6].hex()})")


def _parse_cpio(data: bytes, start: int, names: list[str]) -> int:
    """Append entry names from a newc archive at ``start``; return the offset after its trailer."""
    offset = start
    while True:
        header = data[offset:offset + 110]
        if len(header) < 110 or header[:6] not in _NEWC:
            raise BootFilesError(f"initramfs: bad cpio header at byte {offset}")
        file_size = int(header[54:62], 16)
        name_size = int(header[94:102], 16)
        name = data[offset + 110:offset + 110 + name_size - 1].decode("utf-8", "replace")
        offset = (offset + 110 + name_size + 3) & ~3
        offset = (offset + file_size + 3) & ~3
        if name == "TRAILER!!!":
            return offset
        names.append(name)


def list_files(data: bytes) -> list[str]:
    names: list[str] = []
    offset = 0
    while offset < len(data):
        while offset < len(data) and data[offset] == 0:  # padding between archives
            offset += 1
        if offset >= len(data):
            break
        if data[offset:offset + 6] in _NEWC:
            offset = _parse_cpio(data, offset, names)
        else:  # a compressed archive runs to the end of the file
            inner = _decompress(data[offset:])
            list_files_into(inner, names)
            break
    return names


def list_files_into(data: bytes, names: list[str]) -> None:
    names.extend(list_files(data))
