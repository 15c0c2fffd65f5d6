"""The Modem contract, written once and run against every backend: the AT driver on the simulated SIM800 and
SIM7000 (real pty), and python-gammu on Gammu's dummy driver (a directory of smsbackup files)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from modem_support import FAST, at_settings, collect_events, of_type

from evy.sms import pdu
from evy.sms.errors import ModemError
from evy.sms.modem import Modem, ModemSettings, NewMessage, StatusReportEvent, make_modem
from evy.sms.simulator import ModemSimulator, deliver_parts

SENDER = "+254711000111"
RECIPIENT = "+254733000999"
SCRIPTS = ["مرحبا، نحتاج إلى ماء", "Нам нужна вода", "我们需要水和食物", "Need water 💧 now"]


@dataclass
class Backend:
    name: str
    make: Callable[[], Modem]
    inject: Callable[[str, str], None]  # a phone sends (sender, text)
    verify_sent: Callable[[pdu.SubmitPart, int], None]
    delivery_reports: str | None = None  # why the backend cannot produce them here, or None if it can


def _sim_backend(model: str) -> Iterator[Backend]:
    with ModemSimulator(model=model) as simulator:
        def verify(part: pdu.SubmitPart, reference: int) -> None:
            sent = simulator.wait_sent(1)[-1]
            assert sent.reference == reference and sent.pdu == part.hex

        yield Backend(f"at-{model}", lambda: make_modem(at_settings(simulator)),
                      lambda sender, text: simulator.deliver(sender, text), verify)


def _gammu_backend(tmp_path: Path) -> Iterator[Backend]:
    gammu = pytest.importorskip("gammu", reason="python-gammu is not installed")
    from evy.sms.gammu_modem import GAMMU_CODING, submit_dict

    device = tmp_path / "dummy"
    device.mkdir()
    config = tmp_path / "gammurc"
    config.write_text(f"[gammu]\nmodel = dummy\nconnection = none\ndevice = {device}\n")
    counter = iter(range(1, 10000))

    def inject(sender: str, text: str) -> None:
        inbox = device / "sms" / "1"
        inbox.mkdir(parents=True, exist_ok=True)
        for message, _ in deliver_parts(sender, text, timestamp=datetime.now(UTC).replace(microsecond=0)):
            sms = {"Type": "Deliver", "Number": message.sender, "Text": message.text, "State": "UnRead",
                   "SMSC": {"Number": message.smsc}, "Coding": GAMMU_CODING[message.encoding],
                   "DateTime": message.timestamp}
            if message.concat:
                from evy.sms import udh

                sms["UDH"] = {"Type": "ConcatenatedMessages", "Text": udh.encode(message.concat),
                              "ID8bit": message.concat.ref, "ID16bit": -1, "PartNumber": message.concat.seq,
                              "AllParts": message.concat.total}
            gammu.SaveSMSBackup(str(inbox / str(next(counter))), [sms])

    def verify(part: pdu.SubmitPart, reference: int) -> None:
        # The dummy driver keeps nothing it sends (reference 255); check what SendSMS was given instead:
        # Gammu's own PDU encoder turns that dict into a SUBMIT that EVY's decoder must read back unchanged.
        assert reference == 255
        encoded = gammu.EncodePDU(submit_dict(part.message)).hex()
        decoded = pdu.decode(encoded)
        assert (decoded.recipient, decoded.text, decoded.encoding, decoded.concat) == (
            part.message.recipient, part.message.text, part.message.encoding, part.message.concat)

    settings = ModemSettings(backend="gammu", gammu_config=str(config), poll_interval=0.05,
                             **{k: v for k, v in FAST.items() if k != "command_timeout"})
    yield Backend("gammu-dummy", lambda: make_modem(settings), inject, verify,
                  delivery_reports="Gammu's dummy driver has no network to send delivery reports")


@pytest.fixture(params=["at-sim800", "at-sim7000", "gammu-dummy"])
def backend(request, tmp_path) -> Iterator[Backend]:
    if request.param.startswith("at-"):
        yield from _sim_backend(request.param[3:])
    else:
        yield from _gammu_backend(tmp_path)


@pytest.fixture
def modem(backend) -> Iterator[Modem]:
    with backend.make() as opened:
        yield opened


def wait_new(modem: Modem, count: int) -> list[int]:
    events = collect_events(modem, lambda e: len(of_type(e, NewMessage)) >= count)
    return [event.location for event in of_type(events, NewMessage)]


# --- the contract -----------------------------------------------------------------------------------------


def test_lifecycle_without_io_until_open(backend):
    modem = backend.make()
    assert modem.status().state == "down" and not modem.is_open
    with pytest.raises(ModemError, match="not open"):
        modem.list_stored()
    with modem:
        assert modem.is_open
        modem.open()  # idempotent
    modem.close()  # idempotent
    assert modem.status().state == "down"


def test_status_once_open(modem):
    status = modem.status()
    assert status.state == "ready" and status.registered
    assert isinstance(status.signal, int) and 0 <= status.signal <= 31
    assert status.operator and status.last_error is None


def test_backlog_is_listed(backend):
    backend.inject(SENDER, "first, before start-up")
    backend.inject("+254722000222", "second, before start-up")
    with backend.make() as modem:
        stored = modem.list_stored()
        assert sorted(m.message.text for m in stored) == ["first, before start-up", "second, before start-up"]
        for message in stored:
            assert pdu.decode(message.pdu) == message.message  # the raw PDU is kept for re-decoding
        assert {m.message.sender for m in stored} == {SENDER, "+254722000222"}


def test_new_message_event_read_delete(modem, backend):
    backend.inject(SENDER, "Flood at the bridge")
    (location,) = wait_new(modem, 1)
    stored = modem.read(location)
    assert stored.location == location
    assert (stored.message.sender, stored.message.text) == (SENDER, "Flood at the bridge")
    assert stored.message.timestamp is not None and stored.message.timestamp.tzinfo is not None
    modem.delete(location)
    assert modem.read(location) is None
    assert modem.list_stored() == []
    modem.delete(location)  # deleting an empty slot again is harmless (crash recovery repeats it)


def test_multipart_parts_are_read_with_their_concat_headers(modem, backend):
    text = "Tunahitaji maji, chakula na dawa katika kijiji cha juu. " * 7
    backend.inject(SENDER, text)
    locations = wait_new(modem, 3)
    parts = sorted((modem.read(location).message for location in locations), key=lambda m: m.concat.seq)
    assert [p.concat.seq for p in parts] == [1, 2, 3] and len({p.concat.ref for p in parts}) == 1
    assert "".join(p.text for p in parts) == text


def test_non_latin_scripts_arrive_intact(modem, backend):
    for text in SCRIPTS:
        backend.inject(SENDER, text)
    locations = wait_new(modem, len(SCRIPTS))
    assert sorted(modem.read(location).message.text for location in locations) == sorted(SCRIPTS)


def test_send_returns_a_reference_and_the_part_leaves_intact(modem, backend):
    for part in pdu.encode_submit(RECIPIENT, "Go to the school on the hill. " * 6, concat_ref=5):
        reference = modem.send(part)
        assert 0 <= reference <= 255
        backend.verify_sent(part, reference)


def test_wait_events_returns_empty_after_its_timeout(modem):
    started = time.monotonic()
    assert modem.wait_events(0.3) == []
    assert 0.25 <= time.monotonic() - started < 1.5


def test_delivery_reports_come_back_as_events(modem, backend):
    if backend.delivery_reports:
        pytest.skip(backend.delivery_reports)
    reference = modem.send(pdu.encode_submit(RECIPIENT, "report please", request_status_report=True)[0])
    events = collect_events(modem, lambda e: bool(of_type(e, StatusReportEvent)))
    report = of_type(events, StatusReportEvent)[0]
    assert report.report.reference == reference and report.report.delivered
    if report.location is not None:  # stored reports (SIM7000, ds=2) are deleted once kept
        modem.delete(report.location)
    assert modem.list_stored() == []


def test_stored_sending(modem, backend):
    if not modem.supports_stored_send:
        pytest.skip(f"{backend.name}: no stored sending (AT+CMGW/AT+CMSS) in this backend")
    part = pdu.encode_submit(RECIPIENT, "kept until sent")[0]
    location = modem.store_outgoing(part)
    assert modem.outgoing_state(location) == "unsent"
    reference = modem.send_stored(location)
    assert modem.outgoing_state(location) == "sent"
    backend.verify_sent(part, reference)
    modem.delete(location)
