"""The image builder's error tree: one-line messages a technician can act on."""

from __future__ import annotations


class ImageError(Exception):
    """Root of every error the image builder raises on purpose."""


class ProfileError(ImageError, ValueError):
    """The profile TOML is malformed or has a bad value; the message names the key."""


class HostError(ImageError, RuntimeError):
    """The build host lacks a tool or a kernel feature (binfmt); the message says what to install."""


class StageError(ImageError, RuntimeError):
    """A build stage failed; the message names the stage and points to the build log."""


class BootFilesError(ImageError, ValueError):
    """The boot partition lacks a file the Pi 4 needs, or kernel and initrd don't match."""


class ModelError(ImageError, ValueError):
    """A model named by the profile is not in models.lock, or its file doesn't match the lock."""


class FlashError(ImageError, RuntimeError):
    """Refused to write a device (the host's own disk, a partition, not a block device, not confirmed)."""


class BootTestError(ImageError, RuntimeError):
    """The QEMU boot test saw something other than what it expected; the message quotes it."""
