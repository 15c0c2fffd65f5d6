from .gsmphonedriver import GsmModemPhoneDriver
from .qemudiskcarddriver import QEMUDiskCardDriver
from .sdmuxcarddriver import SDMuxCardDriver
from .simmodemphonedriver import SimModemPhoneDriver

__all__ = ["GsmModemPhoneDriver", "QEMUDiskCardDriver", "SDMuxCardDriver", "SimModemPhoneDriver"]
