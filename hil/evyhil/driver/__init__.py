from .gsmphonedriver import GsmModemPhoneDriver
from .modemsimulatorphonedriver import ModemSimulatorPhoneDriver
from .qemudiskcarddriver import QEMUDiskCardDriver
from .sdmuxcarddriver import SDMuxCardDriver

__all__ = ["GsmModemPhoneDriver", "ModemSimulatorPhoneDriver", "QEMUDiskCardDriver", "SDMuxCardDriver"]
