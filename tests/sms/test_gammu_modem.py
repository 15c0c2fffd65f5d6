"""The python-gammu backend beyond the shared contract: how EVY's parts become Gammu SMS dicts and back,
error mapping, and Gammu's own AT driver talking to the simulated modem over the pty."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

import pytest

from evy.sms import pdu
from evy.sms.errors import ModemError, ModemTimeout, PinError, PortError
from evy.sms.message import Concat, Encoding
from evy.sms.modem import ModemSettings, NewMessage, make_modem
from evy.sms.simulator import ModemSimulator

gammu = pytest.importorskip("gammu", reason="python-gammu is not installed")
from evy.sms.gammu_modem import _mapped, _rssi, deliver_from_gammu, submit_dict  # noqa: E402

RECIPIENT = "+254733000999"


@pytest.mark.parametrize(("text", "kwargs"), [
    ("Go to the school on the hill", {}),
    ("Идите к школе на холме 🏫", {}),
    ("x" * 300, {"concat_ref": 200}),
    ("y" * 300, {"concat_ref": 40000, "ref_bits": 16}),
    ("via a given SMSC", {"smsc": "+254722000000"}),
], ids=["gsm7", "ucs2-emoji", "concat-8bit", "concat-16bit", "smsc"])
def test_submit_dicts_encode_to_the_same_pdu_content(text, kwargs):
    for part in pdu.encode_submit(RECIPIENT, text, **kwargs):
        encoded = pdu.decode(gammu.EncodePDU(submit_dict(part.message)).hex())
        expected = part.message
        assert (encoded.recipient, encoded.text, encoded.encoding, encoded.concat) == (
            expected.recipient, expected.text, expected.encoding, expected.concat)
        if "smsc" in kwargs:
            assert encoded.smsc == kwargs["smsc"]


def test_the_configured_smsc_is_used_when_the_part_has_none():
    part = pdu.encode_submit(RECIPIENT, "hi")[0]
    assert submit_dict(part.message)["SMSC"] == {"Location": 1}
    assert submit_dict(part.message, "+254722000000")["SMSC"] == {"Number": "+254722000000"}


def test_gammu_deliver_dicts_become_evy_delivers():
    when = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    message = deliver_from_gammu({
        "Number": "+254711000111", "Text": "sehemu", "Coding": "Default_No_Compression", "DateTime": when,
        "SMSC": {"Number": "+254722000000"},
        "UDH": {"Type": "ConcatenatedMessages16bit", "ID8bit": -1, "ID16bit": 513, "PartNumber": 2,
                "AllParts": 3}})
    assert message.concat == Concat(513, 3, 2, 16)
    assert (message.encoding, message.timestamp, message.smsc) == (Encoding.GSM7, when, "+254722000000")
    binary = deliver_from_gammu({"Number": "1234", "Text": b"\x00\xff", "Coding": "8bit", "DateTime": when})
    assert binary.encoding == Encoding.BIT8 and binary.data == b"\x00\xff"


def test_signal_is_reported_on_the_csq_scale():
    assert _rssi({"SignalStrength": -113, "SignalPercent": 0}) == 0
    assert _rssi({"SignalStrength": -51, "SignalPercent": 100}) == 31
    assert _rssi({"SignalStrength": -1, "SignalPercent": 50}) == 16
    assert _rssi({"SignalStrength": -1, "SignalPercent": -1}) is None


def test_gammu_errors_map_onto_the_modem_error_tree():
    def error(name: str) -> BaseException:
        return getattr(gammu, name)({"Text": name.lower(), "Where": "x", "Code": 1})

    assert isinstance(_mapped(error("ERR_TIMEOUT"), "send"), ModemTimeout)
    assert isinstance(_mapped(error("ERR_DEVICEOPENERROR"), "open"), PortError)
    assert isinstance(_mapped(error("ERR_SECURITYERROR"), "open"), PinError)
    assert not _mapped(error("ERR_NOTSUPPORTED"), "send").transient
    assert str(_mapped(error("ERR_TIMEOUT"), "send")).startswith("gammu could not send: err_timeout")


def test_a_missing_device_is_a_port_error():
    modem = make_modem(ModemSettings(backend="gammu", port="/dev/does-not-exist"))
    with pytest.raises(PortError, match=r"modem\.port"):
        modem.open()


def test_without_python_gammu_the_backend_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gammu", None)
    modem = make_modem(ModemSettings(backend="gammu"))  # constructing needs no gammu
    with pytest.raises(ModemError, match="pip install python-gammu"):
        modem.open()


@pytest.mark.slow
def test_gammus_at_driver_runs_the_simulated_modem():
    """Gammu's own AT stack (not EVY's) against the pty simulator: a second opinion on the simulator."""
    with ModemSimulator() as simulator:
        modem = make_modem(ModemSettings(backend="gammu", port=simulator.port, poll_interval=0.05, heartbeat=60))
        with modem:
            assert modem.status().registered and modem.status().operator == "Safaricom"
            simulator.deliver("+254711000111", "Нам нужна вода " * 12)  # 2 parts, UCS-2
            events: list = []
            deadline = time.monotonic() + 5
            while len(events) < 2 and time.monotonic() < deadline:
                events += modem.wait_events(0.2)
            texts = [modem.read(e.location).message.text for e in events if isinstance(e, NewMessage)]
            assert "".join(texts) == "Нам нужна вода " * 12
            part = pdu.encode_submit(RECIPIENT, "Maji yanakuja")[0]
            reference = modem.send(part)
            sent = simulator.wait_sent(1)
            assert sent[0].reference == reference and sent[0].submit.text == "Maji yanakuja"


@pytest.mark.slow
def test_gammu_enters_a_pin_once_and_never_retries_a_wrong_one():
    with ModemSimulator(pin="4321") as simulator:
        wrong = make_modem(ModemSettings(backend="gammu", port=simulator.port, pin="9999", heartbeat=60))
        with pytest.raises(PinError, match=r"refused modem\.pin"):
            wrong.open()
        with pytest.raises(PinError, match="not entered again"):
            wrong.open()
        assert simulator.pin_attempts == 1 and simulator.pin_attempts_left == 2


def test_an_unhandled_message_is_announced_again_after_a_heartbeat(tmp_path):
    device = tmp_path / "dummy"
    device.mkdir()
    config = tmp_path / "gammurc"
    config.write_text(f"[gammu]\nmodel = dummy\nconnection = none\ndevice = {device}\n")
    settings = ModemSettings(backend="gammu", gammu_config=str(config), poll_interval=0.05, heartbeat=0.3)
    with make_modem(settings) as modem:
        (device / "sms" / "1").mkdir(parents=True, exist_ok=True)
        gammu.SaveSMSBackup(str(device / "sms" / "1" / "1"), [{
            "Type": "Deliver", "Number": "+254711000111", "Text": "not handled yet", "State": "UnRead",
            "SMSC": {"Number": "+254722000000"}, "Coding": "Default_No_Compression",
            "DateTime": datetime.now(UTC).replace(microsecond=0)}])
        announced: list = []
        deadline = time.monotonic() + 5
        while len(announced) < 2 and time.monotonic() < deadline:
            announced += [e for e in modem.wait_events(0.2) if isinstance(e, NewMessage)]
        assert len(announced) == 2 and announced[0] == announced[1]
        modem.delete(announced[0].location)
        assert modem.list_stored() == []


def test_status_reports_in_gammus_inbox_become_events(tmp_path):
    from evy.sms.modem import StatusReportEvent

    device = tmp_path / "dummy"
    device.mkdir()
    config = tmp_path / "gammurc"
    config.write_text(f"[gammu]\nmodel = dummy\nconnection = none\ndevice = {device}\n")
    with make_modem(ModemSettings(backend="gammu", gammu_config=str(config), poll_interval=0.05)) as modem:
        now = datetime.now(UTC).replace(microsecond=0)
        (device / "sms" / "1").mkdir(parents=True, exist_ok=True)
        gammu.SaveSMSBackup(str(device / "sms" / "1" / "1"), [{
            "Type": "Status_Report", "Number": RECIPIENT, "MessageReference": 42, "DeliveryStatus": 0x41,
            "DateTime": now, "SMSCDateTime": now, "Text": "", "Coding": "Default_No_Compression",
            "State": "UnRead", "SMSC": {"Number": "+254722000000"}}])
        events: list = []
        deadline = time.monotonic() + 3
        while not events and time.monotonic() < deadline:
            events += modem.wait_events(0.2)
        (event,) = events
        assert isinstance(event, StatusReportEvent)
        assert (event.report.recipient, event.report.reference, event.report.status) == (RECIPIENT, 42, 0x41)
        assert not event.report.delivered and pdu.decode(event.pdu).reference == 42
        modem.delete(event.location)
        assert modem.wait_events(0.2) == []
