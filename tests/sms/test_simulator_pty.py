"""The simulated modem as a device: a real pty, raw AT over pyserial, surviving agents that come and go."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import serial

from evy.sms import pdu
from evy.sms.simulator import ModemSimulator

AGENT = Path(__file__).resolve().parents[2] / "agent"


def talk(port: serial.Serial, command: bytes, wait_for: bytes = b"OK\r\n", timeout: float = 2.0) -> bytes:
    port.write(command)
    data = b""
    deadline = time.monotonic() + timeout
    while wait_for not in data and time.monotonic() < deadline:
        data += port.read(port.in_waiting or 1)
    return data


@pytest.fixture
def raw(simulator):
    with serial.Serial(simulator.port, 115200, timeout=0.05) as port:
        yield port


def test_the_port_is_a_real_tty(simulator):
    assert simulator.port.startswith("/dev/")
    fd = os.open(simulator.port, os.O_RDWR | os.O_NOCTTY)
    try:
        assert os.isatty(fd)
    finally:
        os.close(fd)


def test_echo_and_results_look_like_a_sim800(simulator, raw):
    assert talk(raw, b"AT\r") == b"AT\r\r\nOK\r\n"
    assert talk(raw, b"ATE0\r") == b"ATE0\r\r\nOK\r\n"
    assert talk(raw, b"AT\r") == b"\r\nOK\r\n"
    assert talk(raw, b"AT+CMGL=4\r", b"ERROR\r\n") == b"\r\nERROR\r\n"  # text mode, CMEE=0: bare ERROR
    talk(raw, b"AT+CMEE=1\r")
    assert talk(raw, b"AT+CNMI=2,1,0,2,0\r", b"4\r\n") == b"\r\n+CME ERROR: 4\r\n"  # SIM800L refuses ds=2
    assert b"+CNMI: (0-3),(0-3),(0,2),(0,1),(0,1)" in talk(raw, b"AT+CNMI=?\r")


def test_send_by_hand_with_the_prompt(simulator, raw):
    talk(raw, b"ATE0\r")
    talk(raw, b"AT+CMGF=0\r")
    part = pdu.encode_submit("+254733000999", "by hand")[0]
    assert talk(raw, f"AT+CMGS={part.tpdu_length}\r".encode(), b"> ") == b"\r\n> "
    assert talk(raw, part.hex.encode() + b"\x1a") == b"\r\n+CMGS: 0\r\n\r\nOK\r\n"
    assert simulator.wait_sent(1)[0].submit.text == "by hand"


def test_escape_abandons_a_send(simulator, raw):
    talk(raw, b"ATE0\r")
    talk(raw, b"AT+CMGF=0\r")
    talk(raw, b"AT+CMGS=20\r", b"> ")
    assert talk(raw, b"0011\x1b") == b"\r\nOK\r\n"
    assert simulator.sent == []


def test_the_simulator_outlives_agents_that_close_the_port(simulator):
    for _ in range(3):
        with serial.Serial(simulator.port, 115200, timeout=0.05) as port:
            assert talk(port, b"AT\r").endswith(b"OK\r\n")
    simulator.deliver("+254711000111", "while nobody listens")  # its +CMTI goes nowhere, like on a UART
    with serial.Serial(simulator.port, 115200, timeout=0.05) as port:
        port.reset_input_buffer()
        assert talk(port, b"AT\r").endswith(b"OK\r\n")
        assert simulator.stored  # the message stayed on the SIM


def test_the_simulator_outlives_a_sigkilled_agent(simulator):
    code = ("import sys, time; sys.path.insert(0, sys.argv[2]);"
            "from evy.sms.at_modem import AtModem; from evy.sms.modem import ModemSettings;"
            "m = AtModem(ModemSettings(port=sys.argv[1], command_timeout=0.5)); m.open();"
            "print('open', flush=True); time.sleep(60)")
    agent = subprocess.Popen([sys.executable, "-c", code, simulator.port, str(AGENT)], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert agent.stdout.readline().strip() == "open"
    finally:
        agent.send_signal(signal.SIGKILL)
        agent.wait(timeout=5)
    simulator.deliver("+254711000111", "after the crash")
    with serial.Serial(simulator.port, 115200, timeout=0.05) as port:
        port.reset_input_buffer()
        assert talk(port, b"AT\r").endswith(b"OK\r\n")
        assert talk(port, b"AT+CMGL=4\r").count(b"+CMGL:") == 1
    assert simulator.state.cmgf == 0  # settings survive an agent crash: only a modem reboot forgets them


def test_output_nobody_reads_does_not_block_the_simulator(simulator):
    for n in range(300):
        simulator.deliver("+254711000111", f"flood {n}")  # ~8 kB of +CMTI/+CMT with nobody reading
        if n % 20 == 0:
            for location in list(simulator.stored):
                simulator.storage.pop(location)
    with serial.Serial(simulator.port, 115200, timeout=0.05) as port:
        port.reset_input_buffer()
        assert talk(port, b"AT\r").endswith(b"OK\r\n")


def test_reboot_banner_and_forgotten_settings(simulator, raw):
    talk(raw, b"ATE0\r")
    talk(raw, b"AT+CMGF=0\r")
    simulator.reboot()
    banner = talk(raw, b"", b"SMS Ready\r\n")
    for line in (b"RDY", b"+CFUN: 1", b"+CPIN: READY", b"Call Ready", b"SMS Ready"):
        assert line in banner
    assert simulator.state.cmgf == 1 and simulator.state.echo and simulator.reboots == 1


def test_silence_and_resume(simulator, raw):
    simulator.silence()
    assert talk(raw, b"AT\r", timeout=0.3) == b""
    simulator.resume()
    assert talk(raw, b"AT\r").endswith(b"OK\r\n")


def test_wait_sent_times_out_with_a_count(simulator):
    with pytest.raises(TimeoutError, match="0 of 1 messages sent"):
        simulator.wait_sent(1, timeout=0.1)


def test_stop_is_idempotent_and_the_context_manager_starts():
    simulator = ModemSimulator()
    assert simulator.port == ""
    with simulator:
        assert os.path.exists(simulator.port)
    simulator.stop()
