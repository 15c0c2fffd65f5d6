"""Both 'phones' against the agent's own modem stack and the simulated SIM800 (real ptys, real AT)."""

from __future__ import annotations

import os
import time

import pytest
from evyhil.driver import GsmModemPhoneDriver, ModemSimulatorPhoneDriver
from evyhil.errors import PhoneTimeout
from labgrid import Target
from labgrid.resource import RawSerialPort

from evy.sms import pdu
from evy.sms.message import Deliver
from evy.sms.modem import InlineMessage, ModemSettings, NewMessage, make_modem
from evy.sms.simulator import ModemSimulator

KIT = "+254722000001"
LONG_REPLY = ("Call 112 now. Check breathing: look, listen, feel for 10 seconds. If not breathing start CPR: "
              "30 hard fast pushes centre of chest then 2 breaths. Keep going until help arrives. ") * 2


def kit_receive(modem, timeout=10.0) -> Deliver:
    """What the agent does: wait for +CMTI, read the stored PDU."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in modem.wait_events(0.5):
            if isinstance(event, NewMessage):
                stored = modem.read(event.location)
                modem.delete(event.location)
                return stored.message
            if isinstance(event, InlineMessage):
                return event.message
    raise AssertionError("the kit received nothing")


@pytest.fixture
def sim_phone(tmp_path):
    target = Target("main")
    phone = ModemSimulatorPhoneDriver(target, "phone", link=str(tmp_path / "run" / "modem.pty"))
    target.activate(phone)
    yield phone
    target.deactivate(phone)


def test_sim_phone_links_the_pty_and_cleans_up(tmp_path):
    target = Target("main")
    link = tmp_path / "modem.pty"
    phone = ModemSimulatorPhoneDriver(target, "phone", link=str(link))
    target.activate(phone)
    assert os.readlink(link).startswith("/dev/pts/")
    target.deactivate(phone)
    assert not link.exists()


def test_sim_phone_round_trip_through_the_agents_modem(sim_phone):
    kit = make_modem(ModemSettings(port=str(sim_phone.link_path), command_timeout=3.0, heartbeat=3600.0))
    kit.open()
    try:
        sim_phone.send(KIT, "Help my brother is not breathing")
        received = kit_receive(kit)
        assert (received.sender, received.text) == (sim_phone.number, "Help my brother is not breathing")
        for part in pdu.encode_submit(sim_phone.number, LONG_REPLY, concat_ref=7):
            kit.send(part)
        messages = sim_phone.wait_for(1, timeout=10)
        assert [m.text for m in messages] == [LONG_REPLY]  # three parts, one message on the phone
        assert sim_phone.sent_by_kit() == 3
        sim_phone.clear()
        assert sim_phone.inbox() == []
    finally:
        kit.close()


def test_waiting_for_a_reply_that_never_comes_times_out(sim_phone):
    with pytest.raises(PhoneTimeout, match="0 of 1 SMS arrived within 1 s"):
        sim_phone.wait_for(1, timeout=1, poll=0.1)


def test_gsm_phone_drives_a_real_at_modem():
    """The rig's second modem, here played by the simulated SIM800 on a pty."""
    with ModemSimulator() as network_modem:
        target = Target("main")
        RawSerialPort(target, "phone-port", port=network_modem.port, speed=115200)
        phone = GsmModemPhoneDriver(target, "phone", phone_number="+254711000002")
        target.activate(phone)
        try:
            phone.send(KIT, "Fire in the market, people trapped")
            sent = network_modem.wait_sent(1, timeout=10)
            assert (sent[0].submit.recipient, sent[0].submit.text) == (KIT, "Fire in the market, people trapped")
            network_modem.deliver(KIT, LONG_REPLY)
            messages = phone.wait_for(1, timeout=15, poll=0.2)
            assert [(m.sender, m.text) for m in messages] == [(KIT, LONG_REPLY)]
        finally:
            target.deactivate(phone)
