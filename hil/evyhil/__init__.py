"""EVY's additions to labgrid: the pieces a Pi 4 field-kit rig needs that labgrid does not ship.

Importing this package registers the drivers and the strategy with labgrid's target factory, so an env
file can name them (``imports: [../evyhil]`` is resolved by labgrid relative to the env file).
"""

from . import driver, strategy
from .protocol import BootMediaProtocol, PhoneProtocol, ReceivedSms

__all__ = ["BootMediaProtocol", "PhoneProtocol", "ReceivedSms", "driver", "strategy"]
