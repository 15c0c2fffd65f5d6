"""Every modem fault the issue lists, injected in the simulated modem and met by the AT driver through a
real pty: echo, URCs inside answers, blank lines, partial reads, noise, error results, timeouts, silence,
slow answers, SIM PIN/PUK, SIM busy, reboots (also mid-send), registration loss and the watchdog."""

from __future__ import annotations

import time

import pytest
from modem_support import at_settings, collect_events, of_type

from evy.sms import pdu
from evy.sms.at_modem import AtModem
from evy.sms.errors import CmsError, ModemTimeout, PinError, RestartedMidCommand
from evy.sms.modem import ModemRestarted, NewMessage
from evy.sms.simulator import ModemSimulator

SENDER = "+254711000111"
RECIPIENT = "+254733000999"


def part(text: str = "Stay on high ground") -> pdu.SubmitPart:
    return pdu.encode_submit(RECIPIENT, text)[0]


def cmgs_count(simulator: ModemSimulator) -> int:
    return sum(1 for c in simulator.commands if c.startswith("AT+CMGS="))


# --- the line: echo, URCs in answers, noise, partial reads ---------------------------------------------


def test_echo_that_stays_on_is_filtered():
    with ModemSimulator() as simulator:
        simulator.fail_next("E")  # ATE0 refused: the modem keeps echoing everything
        with AtModem(at_settings(simulator)) as modem:
            assert simulator.state.echo
            simulator.deliver(SENDER, "echo test")
            collect_events(modem, lambda e: bool(e))
            assert modem.read(1).message.text == "echo test"
            assert modem.send(part()) == 0


def test_a_urc_inside_an_answer_is_an_event_not_part_of_the_answer(simulator, modem):
    simulator.deliver(SENDER, "first")
    collect_events(modem, lambda e: bool(e))
    simulator.urcs_inside_next_answer()
    simulator.deliver(SENDER, "second")  # its +CMTI is held and written inside the next answer
    stored = modem.read(1)  # "+CMGR: ..." / +CMTI / PDU / OK
    assert stored.message.text == "first"
    assert modem.wait_events(0.5) == [NewMessage(2)]


def test_a_urc_between_the_prompt_and_the_cmgs_result(simulator, modem):
    simulator.urcs_inside_next_answer()
    simulator.deliver(SENDER, "arrives while sending")
    assert modem.send(part()) == 0
    assert modem.wait_events(0.5) == [NewMessage(1)]


def test_noise_before_every_answer_and_chopped_output():
    with ModemSimulator() as simulator:
        simulator.noise_before_answers = 7
        simulator.chunk_size, simulator.chunk_gap = 5, 0.0005
        with AtModem(at_settings(simulator)) as modem:
            simulator.deliver(SENDER, "Ni salama? " * 30)  # 3 parts
            events = collect_events(modem, lambda e: len(e) >= 3)
            texts = [modem.read(e.location).message.text for e in events]
            assert "".join(texts) == "Ni salama? " * 30
            assert modem.send(part()) == 0


def test_noise_and_a_junk_line_while_idle_are_ignored(simulator, modem):
    simulator.inject_noise()
    simulator.inject_noise(b"\r\n#!x?\r\n\r\n")
    assert modem.wait_events(0.2) == []
    simulator.deliver(SENDER, "after the noise")
    assert collect_events(modem, lambda e: bool(e)) == [NewMessage(1)]
    assert modem.status().state == "ready"


# --- error results ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "transient"), [(500, True), (330, False), (304, False), (332, True)])
def test_cms_errors_on_send_are_raised_with_cause_and_not_resent(simulator, modem, code, transient):
    simulator.fail_next("CMGS", cms=code, count=5)
    with pytest.raises(CmsError) as caught:
        modem.send(part())
    assert (caught.value.code, caught.value.transient) == (code, transient)
    assert caught.value.action
    assert cmgs_count(simulator) == 1 and simulator.sent == []
    assert f"CMS ERROR {code}" in modem.status().last_error


def test_sim_busy_on_send_is_retried_until_it_goes_through_once(simulator, modem):
    simulator.fail_next("CMGS", cme=14, count=2)
    assert modem.send(part()) == 0
    assert cmgs_count(simulator) == 3 and len(simulator.sent) == 1


def test_invalid_index_reads_as_an_empty_slot_and_memory_full_names_its_action(simulator, modem):
    assert modem.read(99) is None  # CMS 321 from the modem
    simulator.fail_next("CMGL", cms=322, count=5)
    with pytest.raises(CmsError, match="SIM storage is full") as caught:
        modem.list_stored()
    assert caught.value.category == "storage"


def test_a_wrong_pdu_length_is_refused_by_the_modem(simulator, modem):
    good = part()
    bad = pdu.SubmitPart(hex=good.hex, tpdu_length=good.tpdu_length + 1)
    with pytest.raises(CmsError) as caught:
        modem.send(bad)
    assert caught.value.code == 304 and simulator.sent == []


def test_no_network_then_registered():
    with ModemSimulator(registered=False) as simulator, AtModem(at_settings(simulator, heartbeat=0.1)) as modem:
        assert modem.status().state == "not-registered"
        with pytest.raises(CmsError) as caught:
            modem.send(part())
        assert caught.value.code == 331 and caught.value.transient
        simulator.set_registered(True)
        deadline = time.monotonic() + 3
        while modem.status().state != "ready" and time.monotonic() < deadline:
            modem.wait_events(0.1)
        assert modem.status().registered
        assert modem.send(part()) == 0


# --- timeouts, slowness, silence ---------------------------------------------------------------------


def test_slow_answers_within_the_timeout_just_work():
    with ModemSimulator() as simulator:
        simulator.response_delay = 0.05
        with AtModem(at_settings(simulator)) as modem:
            simulator.deliver(SENDER, "slow")
            collect_events(modem, lambda e: bool(e))
            assert modem.read(1).message.text == "slow"


def test_an_answer_later_than_the_timeout_is_not_taken_for_the_next_commands(simulator, modem):
    simulator.deliver(SENDER, "late")
    collect_events(modem, lambda e: bool(e))
    simulator.slow_next(0.8)  # CMGR answers after 0.8 s; the timeout is 0.5 s
    assert modem.read(1).message.text == "late"  # timed out once, re-synchronised, retried
    assert sum(1 for c in simulator.commands if c == "AT+CMGR=1") == 2


def test_a_send_timeout_is_raised_not_resent_and_the_late_answer_is_dropped(simulator):
    with AtModem(at_settings(simulator, send_timeout=1.0)) as modem:
        simulator.slow_next(1.3)  # the +CMGS result comes after send_timeout
        with pytest.raises(ModemTimeout):
            modem.send(part("first"))
        assert cmgs_count(simulator) == 1  # never re-sent blindly: it may have left
        assert modem.send(part("second")) == 1  # the late "+CMGS: 0" was not taken for this one
        assert [s.submit.text for s in simulator.wait_sent(2)] == ["first", "second"]


def test_silence_raises_a_timeout_and_the_modem_is_usable_afterwards(simulator):
    with AtModem(at_settings(simulator, retries=1)) as modem:
        simulator.silence(0.8)
        with pytest.raises(ModemTimeout, match="no answer"):
            modem.read(1)
        assert "no answer" in modem.status().last_error
        time.sleep(0.4)
        assert modem.read(1) is None


def test_short_silence_is_bridged_by_the_retries(simulator, modem):
    simulator.silence(0.7)
    assert modem.read(1) is None


@pytest.mark.slow
def test_watchdog_resets_a_modem_that_stopped_answering():
    with ModemSimulator() as simulator, \
            AtModem(at_settings(simulator, heartbeat=0.2, max_failed_heartbeats=2)) as modem:
        simulator.silence(2.0)
        events = collect_events(modem, lambda e: bool(of_type(e, ModemRestarted)), timeout=12)
        assert of_type(events, ModemRestarted)[0].reason == "the modem stopped answering"
        assert "AT+CFUN=1,1" in simulator.commands and simulator.reboots == 1
        assert modem.status().state == "ready"
        assert simulator.state.cmgf == 0 and simulator.state.cnmi == (2, 1, 0, 1, 0)  # re-initialised after the reset
        simulator.deliver(SENDER, "after the reset")
        assert collect_events(modem, lambda e: bool(of_type(e, NewMessage)))


@pytest.mark.slow
def test_a_modem_that_stays_silent_is_down_until_it_answers_again():
    with ModemSimulator() as simulator, \
            AtModem(at_settings(simulator, heartbeat=0.2, max_failed_heartbeats=1)) as modem:
        simulator.silence()
        deadline = time.monotonic() + 8
        while modem.status().state != "down" and time.monotonic() < deadline:
            modem.wait_events(0.2)
        status = modem.status()
        assert status.state == "down" and "does not answer AT" in status.last_error
        simulator.resume()
        events = collect_events(modem, lambda e: bool(of_type(e, ModemRestarted)), timeout=10)
        assert of_type(events, ModemRestarted) and modem.status().state == "ready"


# --- reboots ----------------------------------------------------------------------------------------------


def test_a_reboot_mid_send_fails_the_send_without_sending_and_the_modem_is_reinitialised(simulator, modem):
    simulator.reboot_on_next_send()
    with pytest.raises(RestartedMidCommand):
        modem.send(part())
    assert simulator.sent == []
    events = collect_events(modem, lambda e: bool(of_type(e, ModemRestarted)))
    assert "rebooted" in of_type(events, ModemRestarted)[0].reason
    assert (simulator.state.echo, simulator.state.cmgf, simulator.state.cmee) == (False, 0, 1)
    assert modem.send(part()) == 0
    assert len(simulator.wait_sent(1)) == 1


def test_messages_stored_during_a_reboot_are_found_by_the_backlog_scan(simulator, modem):
    simulator.reboot()
    simulator.deliver(SENDER, "arrived while the modem booted")  # stored without +CMTI: CNMI was forgotten
    events = collect_events(modem, lambda e: bool(of_type(e, ModemRestarted)))
    assert of_type(events, ModemRestarted)
    assert [m.message.text for m in modem.list_stored()] == ["arrived while the modem booted"]


# --- the SIM ----------------------------------------------------------------------------------------------


def test_the_pin_is_entered_once_when_the_sim_asks():
    with ModemSimulator(pin="4321") as simulator, AtModem(at_settings(simulator, pin="4321")) as modem:
        assert modem.status().state == "ready" and simulator.pin_attempts == 1


def test_a_wrong_pin_is_never_retried():
    with ModemSimulator(pin="4321") as simulator:
        modem = AtModem(at_settings(simulator, pin="0000"))
        with pytest.raises(PinError, match="incorrect password") as caught:
            modem.open()
        assert not caught.value.transient
        assert modem.status().state == "sim-locked"
        with pytest.raises(PinError, match="not entered again"):
            modem.open()  # the same process tries again: refused without touching the SIM
        assert simulator.pin_attempts == 1 and simulator.pin_attempts_left == 2


def test_a_sim_with_failed_pin_attempts_is_not_tried_by_a_new_process():
    with ModemSimulator(pin="4321") as simulator:
        simulator.pin_attempts_left = 2  # someone entered a wrong PIN before (another run, a phone)
        with pytest.raises(PinError, match="2 of 3 PIN attempts left"):
            AtModem(at_settings(simulator, pin="4321")).open()
        assert simulator.pin_attempts == 0


def test_pin_required_but_not_configured():
    with ModemSimulator(pin="4321") as simulator, pytest.raises(PinError, match=r"set modem\.pin"):
        AtModem(at_settings(simulator)).open()
    assert simulator.pin_attempts == 0


def test_a_puk_locked_sim_is_a_clear_error():
    with ModemSimulator(puk_locked=True) as simulator, pytest.raises(PinError, match="PUK"):
        AtModem(at_settings(simulator, pin="1234")).open()
    assert simulator.pin_attempts == 0


def test_no_sim_is_a_clear_error():
    with ModemSimulator(sim_inserted=False) as simulator, pytest.raises(PinError, match="SIM not inserted"):
        AtModem(at_settings(simulator)).open()


def test_sim_busy_at_start_up_is_waited_out():
    with ModemSimulator() as simulator:
        simulator.fail_next("CPIN", cme=14, count=2)
        with AtModem(at_settings(simulator)) as modem:
            assert modem.status().state == "ready"
        assert sum(1 for c in simulator.commands if c == "AT+CPIN?") == 3


def test_a_port_that_goes_away_is_reopened_and_the_modem_reinitialised(simulator, modem):
    import os

    os.close(modem._port.fd)  # what a USB re-enumeration does to an open descriptor
    events = collect_events(modem, lambda e: bool(of_type(e, ModemRestarted)))
    assert of_type(events, ModemRestarted)[0].reason == "the port failed"
    assert modem.status().state == "ready"
    simulator.deliver(SENDER, "still here")
    assert collect_events(modem, lambda e: bool(of_type(e, NewMessage)))


def test_a_sim_still_busy_after_start_up_is_waited_out_on_every_sms_command():
    with ModemSimulator() as simulator:
        simulator.set_sim_busy(2)  # CPIN, CPMS, CMGL, CMGR, CMGD, CMGS each answer CME 14 twice
        with AtModem(at_settings(simulator)) as modem:
            assert modem.storage == "SM" and modem.status().state == "ready"
            simulator.deliver(SENDER, "busy SIM")
            (event,) = collect_events(modem, lambda e: bool(e))
            assert modem.read(event.location).message.text == "busy SIM"
            modem.delete(event.location)
            assert modem.list_stored() == []
            assert modem.send(part()) == 0


def test_a_reboot_during_start_up_restarts_the_initialisation():
    with ModemSimulator() as simulator:
        simulator.reboot_on_next("CNMI")  # the modem resets itself half-way through our set-up
        with AtModem(at_settings(simulator)) as modem:
            assert simulator.reboots == 1
            assert (simulator.state.echo, simulator.state.cmgf, simulator.state.cnmi) == (False, 0, (2, 1, 0, 1, 0))
            simulator.deliver(SENDER, "after the boot")
            assert collect_events(modem, lambda e: bool(e)) == [NewMessage(1)]


def test_a_urc_right_after_the_prompt_does_not_hide_it(simulator, modem):
    simulator.urcs_inside_next_answer(after_prompt=True)
    simulator.deliver(SENDER, "arrives at the prompt")  # "\r\n> " then "\r\n+CMTI: ...\r\n" before the PDU
    assert modem.send(part()) == 0
    assert modem.wait_events(0.5) == [NewMessage(1)]


def test_a_sim7000_reboot_with_its_own_banner_is_handled():
    with ModemSimulator(model="sim7000") as simulator, AtModem(at_settings(simulator)) as modem:
        simulator.reboot()
        events = collect_events(modem, lambda e: bool(of_type(e, ModemRestarted)))
        assert of_type(events, ModemRestarted) and simulator.state.cnmi == (2, 1, 0, 2, 0)
        assert modem.status().registered


def test_a_modem_without_cpinr_still_gets_the_pin_once():
    with ModemSimulator(pin="4321") as simulator:
        simulator.fail_next("CPINR", count=5)  # SIM800 firmware has no AT+CPINR
        with AtModem(at_settings(simulator, pin="4321")) as modem:
            assert modem.status().state == "ready" and simulator.pin_attempts == 1


def test_sms_not_ready_yet_at_start_up_is_waited_out():
    with ModemSimulator() as simulator:
        simulator.fail_next("CPMS", cms=302, count=2)  # "operation not allowed" until SMS Ready
        with AtModem(at_settings(simulator)) as modem:
            assert modem.storage == "SM" and modem.status().state == "ready"


def test_a_junk_line_inside_an_answer_is_kept_out_of_it(simulator, modem):
    simulator.deliver(SENDER, "junk around me")
    collect_events(modem, lambda e: bool(e))
    simulator.urcs_inside_next_answer()
    simulator.emit_urc("x#!junk")  # lands between "+CMGR: ..." and the PDU line
    assert modem.read(1).message.text == "junk around me"


# --- a modem left at the > prompt ---------------------------------------------------------------------------


def leave_at_prompt(simulator: ModemSimulator, command: str = "AT+CMGW=19") -> None:
    """What an agent killed between the prompt and Ctrl-Z leaves: the modem waiting for PDU text."""
    import contextlib
    import os

    fd = os.open(simulator.port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        os.write(fd, b"AT+CMGF=0\r")  # PDU mode, as the killed agent had set it
        time.sleep(0.05)
        os.write(fd, command.encode() + b"\r")
        deadline = time.monotonic() + 2
        seen = b""
        while b">" not in seen and time.monotonic() < deadline:
            time.sleep(0.01)
            with contextlib.suppress(BlockingIOError):
                seen += os.read(fd, 100)
        assert b">" in seen, f"no prompt: {seen!r}"
        os.write(fd, part().hex.encode())  # the PDU went out, the Ctrl-Z never did
    finally:
        os.close(fd)


def test_the_simulated_modem_swallows_commands_at_the_prompt(simulator):
    leave_at_prompt(simulator)
    import serial

    with serial.Serial(simulator.port, timeout=0.5) as raw:
        raw.write(b"AT\r")
        assert b"OK" not in raw.read(64), "at the prompt, AT is PDU text, not a command"
        raw.write(b"\x1b")  # ESC abandons the input
        assert b"OK" in raw.read(64)
        raw.write(b"AT\r")
        assert b"OK" in raw.read(64)
    assert simulator.stored == {} and simulator.sent == [], "nothing was stored or sent"


def test_a_modem_left_at_the_prompt_by_a_killed_agent_is_cleared_on_open(simulator):
    leave_at_prompt(simulator)
    with AtModem(at_settings(simulator)) as modem:
        assert modem.status().state == "ready"
        location = modem.store_outgoing(part("after the prompt"))
        modem.send_stored(location)
    assert [s.submit.text for s in simulator.wait_sent(1)] == ["after the prompt"]


def test_a_prompt_that_appears_behind_the_drivers_back_is_cleared_after_the_silence(simulator, modem):
    leave_at_prompt(simulator, "AT+CMGS=19")  # e.g. a stray command from another process on the port
    # The first AT+CMGR is swallowed as PDU text; after that unexpected silence the driver clears the prompt
    # and its retry is answered, without a modem reset.
    assert modem.read(1) is None
    assert sum(1 for c in simulator.commands if c == "AT+CMGR=1") == 1, "the swallowed one never reached the modem"
    assert simulator.sent == [] and simulator.reboots == 0, "the half-typed PDU was abandoned, not sent"


def test_a_modem_that_gives_up_at_the_prompt_by_itself_is_in_step_afterwards(simulator):
    simulator.prompt_timeout = 0.3
    leave_at_prompt(simulator)
    time.sleep(0.5)
    with AtModem(at_settings(simulator)) as modem:
        assert modem.read(1) is None
