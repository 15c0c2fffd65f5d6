"""'The phone' on a rig: a second GSM modem on the rig host, with its own SIM, that texts the kit."""

from __future__ import annotations

import random
import time
from typing import ClassVar

import attr
from labgrid.driver.common import Driver
from labgrid.factory import target_factory
from labgrid.step import step

from ..errors import PhoneError
from ..protocol import PhoneProtocol, ReceivedSms
from ..sms import Reassembler


@target_factory.reg_driver
@attr.s(eq=False)
class GsmModemPhoneDriver(Driver, PhoneProtocol):
    """Drives the rig's second modem with the agent's own AT stack (evy.sms.at_modem), in PDU mode.

    Args:
        phone_number (str): this modem's SIM number (the sender the kit sees)
        pin (str): optional SIM PIN
        profile (str): modem profile name from evy.sms.profiles (e.g. sim800, generic)
    """

    bindings: ClassVar[dict] = {"port": {"USBSerialPort", "RawSerialPort"}}
    phone_number = attr.ib(validator=attr.validators.instance_of(str))
    pin = attr.ib(default=None, validator=attr.validators.optional(attr.validators.instance_of(str)))
    profile = attr.ib(default="generic", validator=attr.validators.instance_of(str))

    def __attrs_post_init__(self):
        super().__attrs_post_init__()
        self.modem = None
        self._inbox = Reassembler()

    @property
    def number(self) -> str:
        return self.phone_number

    def on_activate(self):
        from evy.errors import EvyError
        from evy.sms.modem import ModemSettings, make_modem

        settings = ModemSettings(backend="at", port=self.port.port, baud=int(self.port.speed or 115200),
                                 profile=self.profile, pin=self.pin, status_reports=False,
                                 heartbeat=3600.0, poll_interval=0.5)
        try:
            self.modem = make_modem(settings)
            self.modem.open()
            for stored in self.modem.list_stored():  # a phone starts with an empty inbox
                self.modem.delete(stored.location)
        except EvyError as exc:
            self.modem = None
            raise PhoneError(f"the phone's modem on {self.port.port} did not start: {exc}") from exc

    def on_deactivate(self):
        if self.modem is not None:
            self.modem.close()
        self.modem = None

    @Driver.check_active
    @step(args=["to", "text"])
    def send(self, to: str, text: str) -> None:
        from evy.errors import EvyError
        from evy.sms import pdu

        try:
            for part in pdu.encode_submit(to, text, concat_ref=random.randrange(1, 256)):
                self.modem.send(part)
        except EvyError as exc:
            raise PhoneError(f"the phone could not text {to}: {exc}") from exc

    def _take(self, message, location: int | None) -> None:
        self._inbox.add(message.sender, message.text, message.concat, time.monotonic())
        if location is not None:
            self.modem.delete(location)

    @Driver.check_active
    def inbox(self) -> list[ReceivedSms]:
        from evy.errors import EvyError
        from evy.sms.message import Deliver
        from evy.sms.modem import InlineMessage, ModemRestarted, NewMessage

        try:
            for event in self.modem.wait_events(0.2):
                if isinstance(event, NewMessage):
                    stored = self.modem.read(event.location)
                    if stored is not None and isinstance(stored.message, Deliver):
                        self._take(stored.message, stored.location)
                elif isinstance(event, InlineMessage):
                    self._take(event.message, None)
                elif isinstance(event, ModemRestarted):
                    for stored in self.modem.list_stored():
                        self._take(stored.message, stored.location)
        except EvyError as exc:
            raise PhoneError(f"the phone could not read its messages: {exc}") from exc
        return list(self._inbox.messages)

    @Driver.check_active
    def clear(self) -> None:
        self.inbox()
        self._inbox = Reassembler()
