"""Build small newc cpio archives (like an initramfs) for the boot-file tests."""

import gzip
import subprocess


def newc(files: dict[str, bytes]) -> bytes:
    out = bytearray()
    for index, (name, data) in enumerate([*files.items(), ("TRAILER!!!", b"")]):
        encoded = name.encode() + b"\0"
        mode = 0o100644 if name != "TRAILER!!!" else 0
        fields = [index + 1, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0]
        out += b"070701" + b"".join(f"{v:08x}".encode() for v in fields) + encoded
        out += b"\0" * (-len(out) % 4) + data
        out += b"\0" * (-len(out) % 4)
    return bytes(out + b"\0" * (-len(out) % 512))


GOOD_INITRD = {
    "usr/lib/modules/6.12.0-1-arm64/kernel/fs/overlayfs/overlay.ko.xz": b"ko",
    "usr/lib/modules/6.12.0-1-arm64/kernel/fs/ext4/ext4.ko.xz": b"ko",
    "usr/lib/modules/6.12.0-1-arm64/kernel/drivers/block/virtio_blk.ko.xz": b"ko",
    "scripts/init-bottom/overlayroot": b"#!/bin/sh\n",
    "bin/busybox": b"\x7fELF",
    "conf/modules": b"overlay\n",
}


def compressed(files: dict[str, bytes], kind: str = "zstd", early: dict[str, bytes] | None = None) -> bytes:
    raw = newc(files)
    if kind == "gzip":
        body = gzip.compress(raw)
    elif kind == "zstd":
        body = subprocess.run(["zstd", "-q", "-c"], input=raw, capture_output=True, check=True).stdout
    else:
        body = raw
    return (newc(early) if early else b"") + body
