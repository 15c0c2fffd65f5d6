import abc

from ..fatfs import BootPartition


class BootMediaProtocol(abc.ABC):
    """A boot medium (an SD card behind a mux, or a QEMU disk file) that is either on the host side,
    where it can be written, or in the board, where the board boots from it."""

    @abc.abstractmethod
    def to_host(self) -> None:
        """Connect the medium to the host (the board must be off)."""

    @abc.abstractmethod
    def to_board(self) -> None:
        """Connect the medium to the board."""

    @abc.abstractmethod
    def write_image(self, image: str) -> None:
        """Write a whole-disk image (bmaptool, using NAME.bmap when there is one); only on the host side."""

    @abc.abstractmethod
    def boot_partition(self) -> BootPartition:
        """The FAT boot partition of the medium, for the seed file and cmdline.txt; only on the host side."""
