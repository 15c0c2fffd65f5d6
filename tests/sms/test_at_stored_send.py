"""Stored sending (AT+CMGW then AT+CMSS): the slot's STO UNSENT / STO SENT flag outlives an agent crash or a
modem reboot, so the pipeline can tell whether a part left."""

from __future__ import annotations

import pytest
from modem_support import at_settings

from evy.sms import pdu
from evy.sms.at_modem import AtModem
from evy.sms.errors import CmsError, RestartedMidCommand
from evy.sms.simulator import ModemSimulator

RECIPIENT = "+254733000999"


def part(text: str = "Go to the school on the hill") -> pdu.SubmitPart:
    return pdu.encode_submit(RECIPIENT, text)[0]


def test_store_then_send_then_delete(simulator, modem):
    assert modem.supports_stored_send
    location = modem.store_outgoing(part())
    assert modem.outgoing_state(location) == "unsent" and modem.list_unsent() == [location]
    assert simulator.sent == []
    reference = modem.send_stored(location)
    assert simulator.wait_sent(1)[0].reference == reference
    assert modem.outgoing_state(location) == "sent" and modem.list_unsent() == []
    assert modem.list_sent() == [location]
    assert modem.list_stored() == []  # outgoing parts are never mistaken for received messages
    modem.delete(location)
    assert modem.outgoing_state(location) is None


def test_the_flag_survives_a_new_agent_process(simulator):
    with AtModem(at_settings(simulator)) as first:
        location = first.store_outgoing(part())
    with AtModem(at_settings(simulator)) as second:  # "after the crash"
        assert second.list_unsent() == [location]
        second.send_stored(location)
        assert second.outgoing_state(location) == "sent"
    assert len(simulator.sent) == 1


def test_a_reboot_during_cmss_leaves_the_part_unsent(simulator, modem):
    location = modem.store_outgoing(part())
    simulator.reboot_on_next_send()
    with pytest.raises(RestartedMidCommand):
        modem.send_stored(location)
    assert simulator.sent == [] and modem.outgoing_state(location) == "unsent"
    modem.send_stored(location)
    assert len(simulator.wait_sent(1)) == 1


def test_no_network_on_cmss_keeps_it_stored():
    with ModemSimulator(registered=False) as simulator, AtModem(at_settings(simulator)) as modem:
        location = modem.store_outgoing(part())
        with pytest.raises(CmsError) as caught:
            modem.send_stored(location)
        assert caught.value.code == 331 and modem.outgoing_state(location) == "unsent"


def test_a_full_sim_refuses_to_store_with_cms_322():
    with ModemSimulator(storage_size=1) as simulator, AtModem(at_settings(simulator)) as modem:
        simulator.deliver("+254711000111", "fills the SIM")
        with pytest.raises(CmsError) as caught:
            modem.store_outgoing(part())
        assert caught.value.code == 322 and caught.value.category == "storage"


def test_a_late_cmgw_answer_is_raised_not_written_again(simulator, modem):
    from evy.sms.errors import ModemTimeout

    simulator.slow_next(1.0, command="CMGW")  # stored at once; +CMGW comes after command_timeout (0.5 s)
    with pytest.raises(ModemTimeout):
        modem.store_outgoing(part())
    assert sum(1 for c in simulator.commands if c.startswith("AT+CMGW=")) == 1, "one copy, not one per retry"
    assert len(modem.list_unsent()) == 1, "the caller finds the unrecorded copy and frees it"
