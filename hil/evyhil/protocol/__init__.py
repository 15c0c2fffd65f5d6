from .bootmediaprotocol import BootMediaProtocol
from .phoneprotocol import PhoneProtocol, ReceivedSms

__all__ = ["BootMediaProtocol", "PhoneProtocol", "ReceivedSms"]
