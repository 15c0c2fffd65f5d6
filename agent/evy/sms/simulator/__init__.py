"""The modem's twin: a simulated SIM800/SIM7000 on a real pty, with a scriptable network and fault injection.

Layers, each a module built on the one before: ``pty`` (a device on a pseudo-terminal answered by a thread),
``state`` (storage, settings, scripted faults, output), ``network`` (the network's side of SMS),
``commands`` (the AT command table), ``modem`` (``ModemSimulator`` and its fault-injection API).
"""

from evy.sms.simulator.modem import ModemSimulator
from evy.sms.simulator.network import deliver_parts, status_report_for
from evy.sms.simulator.state import DEFAULT_SMSC, MODELS, SentMessage

__all__ = ["DEFAULT_SMSC", "MODELS", "ModemSimulator", "SentMessage", "deliver_parts", "status_report_for"]
