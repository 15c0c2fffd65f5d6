"""'The phone' on QEMU: the simulated SIM800 is the kit's modem, its network side is the phone."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import attr
from labgrid.driver.common import Driver
from labgrid.factory import target_factory
from labgrid.step import step

from ..errors import PhoneError
from ..protocol import PhoneProtocol, ReceivedSms
from ..sms import Reassembler, same_number


@target_factory.reg_driver
@attr.s(eq=False)
class ModemSimulatorPhoneDriver(Driver, PhoneProtocol):
    """Runs ``evy.sms.simulator.ModemSimulator`` on a pty and links it at ``link`` for QEMU to open as a serial
    device (``-chardev serial,id=modem,path=LINK -device usb-serial,chardev=modem``: the guest's
    /dev/ttyUSB0). The simulator keeps the pty open itself, so it outlives every QEMU power cut.

    Args:
        link (str): where to put the symlink to the modem's pty (the path in QEMUDriver's extra_args)
        phone_number (str): the number messages from "the phone" come from
        model (str): the simulated modem model (see evy.sms.simulator.MODELS)
    """

    bindings: ClassVar[dict] = {}
    link = attr.ib(validator=attr.validators.instance_of(str))
    phone_number = attr.ib(default="+254700000001", validator=attr.validators.instance_of(str))
    model = attr.ib(default="sim800", validator=attr.validators.instance_of(str))

    def __attrs_post_init__(self):
        super().__attrs_post_init__()
        self.modem = None
        self._link: Path | None = None
        self._seen = 0  # how many of modem.sent were already fed to the reassembler
        self._inbox = Reassembler()

    @property
    def number(self) -> str:
        return self.phone_number

    @property
    def link_path(self) -> Path | None:
        """The resolved symlink to the modem's pty while active (what QEMU opens)."""
        return self._link

    def on_activate(self):
        from evy.sms.simulator import ModemSimulator  # the agent's simulator; imported only where it is used

        link = self.target.env.config.resolve_path(self.link) if self.target.env else self.link
        self._link = Path(link)
        self._link.parent.mkdir(parents=True, exist_ok=True)
        self.modem = ModemSimulator(model=self.model).start()
        self._link.unlink(missing_ok=True)
        os.symlink(self.modem.port, self._link)
        self.logger.info("simulated modem on %s, linked at %s", self.modem.port, self._link)

    def on_deactivate(self):
        if self._link is not None:
            self._link.unlink(missing_ok=True)
        if self.modem is not None:
            self.modem.stop()
        self.modem = None

    @Driver.check_active
    @step(args=["to", "text"])
    def send(self, to: str, text: str) -> None:
        # The simulated network carries one kit, so ``to`` only documents intent.
        try:
            self.modem.deliver(self.phone_number, text)
        except Exception as exc:
            raise PhoneError(f"the simulated network refused the message to {to}: {exc}") from exc

    @Driver.check_active
    def inbox(self) -> list[ReceivedSms]:
        sent = list(self.modem.sent)
        for message in sent[self._seen:]:
            submit = message.submit
            if same_number(submit.recipient, self.phone_number):
                self._inbox.add(submit.recipient, submit.text, submit.concat, message.at)
        self._seen = len(sent)
        # The phone is the sender's view reversed: a reply "from the kit" lands here.
        return list(self._inbox.messages)

    @Driver.check_active
    def clear(self) -> None:
        self.inbox()
        self._inbox = Reassembler()

    @Driver.check_active
    def sent_by_kit(self) -> int:
        """All parts the kit handed to the network so far (to any number)."""
        return len(self.modem.sent)
