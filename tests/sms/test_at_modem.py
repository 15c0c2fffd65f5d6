"""The AT driver against the simulated modem on a real pty: start-up, receive, read, delete, send, reports."""

from __future__ import annotations

import time

import pytest
from modem_support import at_settings, collect_events, of_type

from evy.backends import UnknownBackend
from evy.sms import pdu
from evy.sms.at_modem import AtModem
from evy.sms.errors import ModemError, PortError, StoredPduError
from evy.sms.modem import (
    InlineMessage,
    NewMessage,
    StatusReportEvent,
    StorageFull,
    UnreadableMessage,
    make_modem,
    open_modem,
)
from evy.sms.simulator import ModemSimulator, deliver_parts

SENDER = "+254711000111"


def test_start_up_probes_and_configures_the_modem(simulator, modem):
    commands = simulator.commands
    for expected in ("AT", "ATE0", "AT+CMEE=1", "AT+CPIN?", "AT+CMGF=0", "AT+CPMS=?", 'AT+CPMS="SM","SM","SM"',
                     "AT+CNMI=?", "AT+CNMI=2,1,0,1,0"):
        assert expected in commands
    assert commands.index("ATE0") < commands.index("AT+CPIN?") < commands.index("AT+CMGF=0")
    state = simulator.state
    assert (state.echo, state.cmee, state.cmgf, state.cnmi) == (False, 1, 0, (2, 1, 0, 1, 0))
    status = modem.status()
    assert (status.state, status.registered, status.signal, status.operator) == ("ready", True, 18, "Safaricom")
    assert modem.storage == "SM" and modem.capacity == (0, 20)


def test_new_message_event_read_and_delete(simulator, modem):
    simulator.deliver(SENDER, "Flood at the bridge, need help")
    events = collect_events(modem, lambda e: bool(e))
    assert events == [NewMessage(1)]
    stored = modem.read(1)
    assert stored.message.sender == SENDER and stored.message.text == "Flood at the bridge, need help"
    assert pdu.decode(stored.pdu) == stored.message
    modem.delete(1)
    assert modem.read(1) is None
    assert simulator.stored == {}


def test_several_indications_in_one_read_become_several_events(simulator, modem):
    simulator.deliver(SENDER, "x" * 400)  # 3 parts, three +CMTI written back to back
    events = collect_events(modem, lambda e: len(e) >= 3)
    assert events == [NewMessage(1), NewMessage(2), NewMessage(3)]


def test_backlog_is_listed_at_start_with_reports_as_events(simulator):
    for _message, encoded in deliver_parts(SENDER, "old message"):
        simulator.store(encoded, stat=1)
    simulator.store(deliver_parts("+254722333444", "unread one")[0][1], stat=0)
    sent = pdu.encode_submit("+254700", "draft")[0]
    simulator.store(sent.hex, stat=2)  # an unsent SUBMIT in storage is not a received message
    with AtModem(at_settings(simulator)) as modem:
        stored = modem.list_stored()
        assert [(m.location, m.message.text) for m in stored] == [(1, "old message"), (2, "unread one")]
        assert "AT+CMGL=4" in simulator.commands


def test_an_undecodable_message_is_reported_with_its_raw_pdu_and_kept(simulator, modem):
    simulator.deliver_pdu("0791527422000000040C9152741100")  # truncated DELIVER
    events = collect_events(modem, lambda e: bool(e))
    with pytest.raises(StoredPduError, match="raw PDU 0791527422000000040C9152741100") as caught:
        modem.read(events[0].location)
    assert caught.value.pdu == "0791527422000000040C9152741100"
    assert modem.list_stored() == []  # not a message in the backlog, but still in storage:
    assert simulator.stored == {1: "0791527422000000040C9152741100"}
    unreadable = of_type(modem.wait_events(0.2), UnreadableMessage)  # for the pipeline to keep, then delete
    assert unreadable == [UnreadableMessage(1, "0791527422000000040C9152741100", unreadable[0].reason)]


def test_send_uses_the_prompt_and_returns_the_modems_reference(simulator, modem):
    part = pdu.encode_submit("+254733000999", "Go to the school on the hill")[0]
    reference = modem.send(part)
    sent = simulator.wait_sent(1)
    assert sent[0].reference == reference == 0
    assert sent[0].pdu == part.hex
    assert sent[0].submit.text == "Go to the school on the hill"


def test_message_reference_rolls_over_from_255_to_0():
    with ModemSimulator(first_reference=254) as simulator, AtModem(at_settings(simulator)) as modem:
        parts = pdu.encode_submit("+254733000999", "y" * 400)
        assert [modem.send(p) for p in parts] == [254, 255, 0]


def test_multipart_send_keeps_order_and_concat_headers(simulator, modem):
    text = "Отправляйтесь к школе на холме. " * 5
    parts = pdu.encode_submit("+254733000999", text, concat_ref=9)
    for part in parts:
        modem.send(part)
    sent = simulator.wait_sent(len(parts))
    assert "".join(s.submit.text for s in sent) == text
    assert [s.submit.concat.seq for s in sent] == list(range(1, len(parts) + 1))


def test_inline_delivery_report_on_sim800(simulator, modem):
    part = pdu.encode_submit("+254733000999", "ok", request_status_report=True)[0]
    reference = modem.send(part)
    events = collect_events(modem, lambda e: bool(of_type(e, StatusReportEvent)))
    report = of_type(events, StatusReportEvent)[0]
    assert report.location is None and report.report.reference == reference and report.report.delivered


def test_stored_delivery_report_and_lte_registration_on_sim7000():
    with ModemSimulator(model="sim7000") as simulator, AtModem(at_settings(simulator)) as modem:
        assert simulator.state.cnmi == (2, 1, 0, 2, 0)
        assert modem.status().registered  # CREG says 0,0 on LTE-M; CEREG says registered
        simulator.report_status = 0x41  # permanently failed
        reference = modem.send(pdu.encode_submit("+254733000999", "ok", request_status_report=True)[0])
        events = collect_events(modem, lambda e: bool(of_type(e, StatusReportEvent)))
        report = of_type(events, StatusReportEvent)[0]
        assert report.report.reference == reference and not report.report.delivered and report.report.final
        assert report.location in simulator.stored
        modem.delete(report.location)
        assert simulator.stored == {}


def test_messages_pushed_with_cmt_arrive_inline(simulator):
    with AtModem(at_settings(simulator, cnmi="2,2,0,1,0")) as modem:
        simulator.deliver(SENDER, "مرحبا، نحتاج إلى ماء")
        events = collect_events(modem, lambda e: bool(e))
        assert isinstance(events[0], InlineMessage)
        assert events[0].message.text == "مرحبا، نحتاج إلى ماء"
        assert simulator.stored == {}


def test_full_storage_is_reported_and_the_network_redelivers_after_deletes():
    with ModemSimulator(storage_size=2) as simulator:
        simulator.deliver(SENDER, "one")
        simulator.deliver(SENDER, "two")
        simulator.deliver(SENDER, "three")  # no room: held by the network
        assert len(simulator.network_queue) == 1
        with AtModem(at_settings(simulator, heartbeat=0.05)) as modem:
            events = collect_events(modem, lambda e: bool(of_type(e, StorageFull)))
            assert of_type(events, StorageFull)[0] == StorageFull(2, 2)
            for stored in modem.list_stored():
                modem.delete(stored.location)
            events = collect_events(modem, lambda e: bool(of_type(e, NewMessage)))
            assert modem.read(of_type(events, NewMessage)[0].location).message.text == "three"


def test_closed_modem_refuses_operations_and_close_is_idempotent(simulator):
    modem = AtModem(at_settings(simulator))
    with pytest.raises(ModemError, match="not open"):
        modem.list_stored()
    modem.open()
    modem.open()  # already open: nothing happens
    modem.close()
    modem.close()
    assert modem.status().state == "down"


def test_constructing_does_no_io(simulator):
    AtModem(at_settings(simulator))
    time.sleep(0.05)
    assert list(simulator.commands) == []


def test_a_missing_port_is_a_clear_error():
    modem = make_modem({"modem.backend": "at", "modem.port": "/dev/does-not-exist"})
    with pytest.raises(PortError, match="cannot open modem port /dev/does-not-exist"):
        modem.open()


def test_the_port_has_a_single_owner(simulator, modem):
    with pytest.raises(PortError, match="ModemManager"):
        open_modem({"modem.port": simulator.port, "modem.command_timeout": 0.5})


def test_unknown_backend_is_refused():
    with pytest.raises(UnknownBackend, match=r"modem\.backend: unknown modem 'carrier-pigeon'; known: at, gammu"):
        make_modem({"modem.backend": "carrier-pigeon"})


def test_delivery_report_for_one_part_only(simulator, modem):
    simulator.report_for = lambda sent: 0x00 if sent.submit.concat.seq == 2 else None
    parts = pdu.encode_submit("+254733000999", "z" * 400, request_status_report=True)
    references = [modem.send(p) for p in parts]
    events = collect_events(modem, lambda e: bool(of_type(e, StatusReportEvent)))
    time.sleep(0.1)
    events += modem.wait_events(0.1)
    assert [e.report.reference for e in of_type(events, StatusReportEvent)] == [references[1]]


def test_a_burst_larger_than_the_sim_arrives_exactly_once():
    with ModemSimulator(storage_size=5) as simulator, AtModem(at_settings(simulator)) as modem:
        for n in range(30):
            simulator.deliver(SENDER, f"message {n}")  # 25 of them wait in the network for free slots
        received: list[str] = []
        deadline = time.monotonic() + 10
        while len(received) < 30 and time.monotonic() < deadline:
            for event in modem.wait_events(0.2):
                if isinstance(event, NewMessage):
                    received.append(modem.read(event.location).message.text)
                    modem.delete(event.location)
        assert sorted(received) == sorted(f"message {n}" for n in range(30))
        assert simulator.stored == {} and not simulator.network_queue


def test_a_message_whose_indication_was_lost_is_found_by_the_watchdog(simulator):
    with AtModem(at_settings(simulator, heartbeat=0.1)) as modem:
        (message, encoded), = deliver_parts(SENDER, "my +CMTI was lost")
        location = simulator.store(encoded)  # stored without any +CMTI
        events = collect_events(modem, lambda e: bool(of_type(e, NewMessage)))
        assert of_type(events, NewMessage)[0] == NewMessage(location)
        assert modem.read(location).message == message
        modem.delete(location)
        assert modem.wait_events(0.3) == []  # nothing stored: nothing announced again


def test_an_undecodable_pushed_message_is_still_handed_over(simulator):
    with AtModem(at_settings(simulator, cnmi="2,2,0,1,0")) as modem:
        simulator.deliver_pdu("0791527422000000040C9152741100")  # pushed with +CMT, never stored
        (event,) = collect_events(modem, lambda e: bool(e))
        assert event == UnreadableMessage(None, "0791527422000000040C9152741100", event.reason)
        modem.delete(event.location)  # nothing to free: a no-op


def test_storage_full_is_reported_once_per_filling():
    with ModemSimulator(storage_size=1) as simulator, AtModem(at_settings(simulator, heartbeat=0.05)) as modem:
        simulator.store(deliver_parts(SENDER, "fills it")[0][1])
        events: list = []
        deadline = time.monotonic() + 0.6
        while time.monotonic() < deadline:
            events += modem.wait_events(0.1)
        assert len(of_type(events, StorageFull)) == 1


def test_a_lost_indication_is_found_while_other_messages_keep_arriving(simulator):
    """A flood keeps events pending at every wait, so the idle watchdog never runs; the periodic sweep still
    reads the whole storage (Gammu SMSD polls for the same reason)."""
    with AtModem(at_settings(simulator, heartbeat=0.3, sweep_interval=1.0)) as modem:
        simulator.lose_urcs(1)
        (lost, _), = [(m, None) for m in simulator.deliver(SENDER, "my +CMTI was lost")]
        found: list[str] = []
        deadline = time.monotonic() + 6
        n = 0
        while lost.text not in found and time.monotonic() < deadline:
            n += 1
            simulator.deliver(f"+2547110{n:05d}", f"flood {n}")
            time.sleep(0.05)  # its +CMTI is waiting before every call: the line is never quiet
            for event in modem.wait_events(0.5):
                if isinstance(event, NewMessage) and (stored := modem.read(event.location)) is not None:
                    found.append(stored.message.text)
                    modem.delete(event.location)
        assert lost.text in found, f"the lost message is still on the SIM after {n} others: {simulator.stored}"
