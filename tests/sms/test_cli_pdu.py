"""`evy pdu decode|encode|count`: the JSON contract, and exit 2 with one `error:` line on bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evy.cli import main
from evy.sms import pdu

AGENT = Path(__file__).resolve().parents[2] / "agent"
HELLO = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
KENYA = "0C91527421436587"


def run(capsys, *argv):
    code = main(["pdu", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def decode(capsys, hex_text, *extra):
    code, out, err = run(capsys, "decode", hex_text, *extra)
    assert (code, err) == (0, "")
    return json.loads(out)


def test_decode_deliver(capsys):
    assert decode(capsys, HELLO) == {
        "type": "deliver", "smsc": "+27381000015", "sender": "27838890001",
        "timestamp": "1999-03-29T15:16:59+02:00", "encoding": "gsm7", "text": "hellohello", "concat": None}


def test_decode_multipart_ucs2_keeps_the_plus(capsys):
    hex_text = "00" "44" + KENYA + "0008" "6211621100000A" "0A" "0500032A0301" "D83DDE00"
    assert decode(capsys, hex_text) == {
        "type": "deliver", "smsc": None, "sender": "+254712345678", "timestamp": "2026-11-26T11:00:00-05:00",
        "encoding": "ucs2", "text": "😀", "concat": {"ref": 42, "total": 3, "seq": 1}}


def test_decode_submit(capsys):
    assert decode(capsys, "0011000B916407281553F80000AA0AE8329BFD4697D9EC37") == {
        "type": "submit", "smsc": None, "recipient": "+46708251358", "timestamp": None, "encoding": "gsm7",
        "text": "hellohello", "concat": None}


def test_decode_status_report(capsys):
    hex_text = "0791527422000000" "06" "2A" + KENYA + "6211621100000A" "6211621100300A" "00"
    assert decode(capsys, hex_text) == {
        "type": "status-report", "smsc": "+254722000000", "recipient": "+254712345678",
        "timestamp": "2026-11-26T11:00:00-05:00", "encoding": "gsm7", "text": "", "concat": None,
        "status": 0, "reference": 42}


def test_decode_8bit_and_without_smsc(capsys):
    hex_text = "04" + KENYA + "0004" "62116211000000" "02" "41FF"
    result = decode(capsys, hex_text, "--no-smsc")
    assert (result["encoding"], result["text"], result["smsc"]) == ("8bit", "Aÿ", None)


def test_encode_single_gsm7(capsys):
    code, out, err = run(capsys, "encode", "--to", "+46708251358", "hellohello")
    assert (code, err) == (0, "")
    assert json.loads(out) == {"encoding": "gsm7", "segments": 1,
                               "parts": ["0001000B916407281553F800000AE8329BFD4697D9EC37"]}


def test_encode_multipart_ucs2_with_smsc(capsys):
    text = "Привет! " * 20
    code, out, _ = run(capsys, "encode", "--to", "+254712345678", "--smsc", "+254722000000", text)
    result = json.loads(out)
    assert (code, result["encoding"], result["segments"]) == (0, "ucs2", 3)
    decoded = [pdu.decode(part) for part in result["parts"]]
    assert all(part.startswith("0791527422000000") for part in result["parts"])
    assert "".join(message.text for message in decoded) == text
    assert [message.concat.seq for message in decoded] == [1, 2, 3]


def test_encode_options(capsys):
    code, out, _ = run(capsys, "encode", "--to", "0712345678", "--encoding", "ucs2", "--status-report",
                       "--ref", "77", "x" * 71)
    result = json.loads(out)
    assert (code, result["encoding"], result["segments"]) == (0, "ucs2", 2)
    first = pdu.decode(result["parts"][0])
    assert first.request_status_report and first.concat.ref == 77 and first.recipient == "0712345678"


def test_count(capsys):
    code, out, _ = run(capsys, "count", "€" * 160)
    assert code == 0
    assert json.loads(out) == {"encoding": "gsm7", "segments": 3, "units": 320, "per_segment": 153,
                               "non_gsm7": []}
    _, out, _ = run(capsys, "count", "hi 😀")
    assert json.loads(out)["non_gsm7"] == ["😀"]


@pytest.mark.parametrize(("argv", "message"), [
    (["decode", "079"], "error: PDU hex has an odd number of digits (3)"),
    (["decode", "zz"], "error: PDU is not hex: unexpected character 'z'"),
    (["decode", HELLO[:-4]], "error: PDU truncated: user data (10 septets) needs 9 octets, 7 left"),
    (["encode", "--to", "Bank", "hi"], "error: recipient 'Bank' is not a phone number"),
    (["encode", "--to", "+1", "--encoding", "gsm7", "ż"], "error: text is not GSM-7: 'ż' (U+017C)"),
    (["encode", "--to", "+1", "--ref", "300", "x" * 200], "error: 8-bit concatenation reference 300"),
])
def test_bad_input_is_exit_2_and_one_error_line(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith(message) and err.count("\n") == 1


def test_usage_error_is_exit_2_and_one_error_line(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["pdu", "encode", "hi"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=60))
def test_decode_never_crashes(data):
    code = main(["pdu", "decode", data.hex() or "00"])
    assert code in (0, 2)


def test_the_installed_entry_point_speaks_utf8_json():
    env = {**os.environ, "PYTHONPATH": str(AGENT), "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([sys.executable, "-m", "evy", "pdu", "encode", "--to", "+254712345678", "Привет 😀"],
                          capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    parts = json.loads(done.stdout)["parts"]
    done = subprocess.run([sys.executable, "-m", "evy", "pdu", "decode", parts[0]], capture_output=True,
                          text=True, env=env, timeout=60, check=False)
    assert json.loads(done.stdout)["text"] == "Привет 😀"
    bad = subprocess.run([sys.executable, "-m", "evy", "pdu", "decode", "0"], capture_output=True, text=True,
                         env=env, timeout=60, check=False)
    assert (bad.returncode, bad.stdout, bad.stderr) == (2, "", "error: PDU hex has an odd number of digits (1)\n")
