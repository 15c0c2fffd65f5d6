"""EVY: an SMS-first, offline emergency responder for Raspberry Pi field kits."""

__version__ = "0.1.0"
