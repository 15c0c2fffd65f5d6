"""`evy frame decode`, `evy lora airtime`, `evy mesh keygen|sim|run` through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evy.cli import main
from evy.mesh.frames import Kind
from evy.mesh.messages import SmsRelay, encode

from .conftest import free_udp_ports, make_frame

AGENT = Path(__file__).resolve().parents[2] / "agent"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def sms_frame(key, **kwargs):
    return make_frame(key, kind=Kind.SMS_RELAY, body=encode(SmsRelay("+254700000001", "need water")), **kwargs)


def test_frame_decode_prints_json(capsys, key, key_file):
    raw = sms_frame(key)
    code, out, _ = run(capsys, "frame", "decode", raw.hex(), "--key", str(key_file))
    assert code == 0
    data = json.loads(out)
    assert data["kind"] == "sms_relay" and data["source"] == "e5000001" and data["packet_id"] == 7
    assert data["message"] == {"number": "+254700000001", "text": "need water", "kind": "sms_relay"}
    assert data["hop_limit"] == 3 and data["fragment"] == [0, 1]


@pytest.mark.parametrize("mangle, message", [
    (lambda raw: raw[:-1] + bytes([raw[-1] ^ 1]), "failed authentication"),
    (lambda raw: raw[:10], "shorter than"),
    (lambda raw: bytes([0x31]) + raw[1:], "version"),
])
def test_frame_decode_rejects_forged_and_malformed(capsys, key, key_file, mangle, message):
    code, out, err = run(capsys, "frame", "decode", mangle(sms_frame(key)).hex(), "--key", str(key_file))
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_frame_decode_detects_replays_with_a_state_file(capsys, key, key_file, tmp_path):
    state = tmp_path / "decode-state.json"
    raw = sms_frame(key, packet_id=500)
    assert run(capsys, "frame", "decode", raw.hex(), "--key", str(key_file), "--state", str(state))[0] == 0
    code, _, err = run(capsys, "frame", "decode", raw.hex(), "--key", str(key_file), "--state", str(state))
    assert code == 2 and "replayed (seen)" in err
    old = sms_frame(key, packet_id=400)
    code, _, err = run(capsys, "frame", "decode", old.hex(), "--key", str(key_file), "--state", str(state))
    assert code == 2 and "replayed (too old)" in err


def test_frame_decode_without_key_file(capsys, key, tmp_path):
    code, _, err = run(capsys, "frame", "decode", sms_frame(key).hex(), "--key", str(tmp_path / "none"))
    assert code == 2 and "cannot read mesh key file" in err
    code, _, err = run(capsys, "frame", "decode", "zz", "--key", str(tmp_path / "none"))
    assert code == 2


def test_lora_airtime(capsys):
    code, out, _ = run(capsys, "lora", "airtime", "--sf", "7", "--bw", "125", "--cr", "5", "--preamble", "8",
                       "--payload", "50")
    assert code == 0 and json.loads(out) == {"seconds": 0.097536}
    code, out, _ = run(capsys, "lora", "airtime", "--sf", "12", "--bw", "125", "--cr", "5", "--preamble", "8",
                       "--payload", "50")
    assert json.loads(out)["seconds"] == pytest.approx(2.302, abs=0.0005)
    code, _, err = run(capsys, "lora", "airtime", "--sf", "13", "--bw", "125", "--cr", "5", "--payload", "50")
    assert code == 2 and err.startswith("error: spreading factor")


def test_mesh_sim_json(capsys):
    code, out, _ = run(capsys, "mesh", "sim", "--nodes", "6", "--topology", "line", "--loss", "0.1",
                       "--messages", "8", "--seed", "3", "--json")
    data = json.loads(out)
    assert code == 0
    assert {"sent", "delivered", "delivery_ratio", "transmissions", "airtime_s", "max_duty_cycle"} <= data.keys()
    assert data["sent"] == 8 and 0 <= data["delivery_ratio"] <= 1
    code, _, err = run(capsys, "mesh", "sim", "--nodes", "1")
    assert code == 2 and err.startswith("error: ")


def test_mesh_keygen(capsys, tmp_path):
    code, out, _ = run(capsys, "mesh", "keygen", str(tmp_path / "net.key"))
    assert code == 0 and json.loads(out)["key_file"].endswith("net.key")
    code, _, err = run(capsys, "mesh", "keygen", str(tmp_path / "net.key"))
    assert code == 2 and "refusing to overwrite" in err


def test_mesh_run_refuses_without_a_key(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(AGENT)}
    result = subprocess.run([sys.executable, "-m", "evy", "mesh", "run", "--radio", "udp", "--udp-peer",
                             "127.0.0.1:9", "--state-dir", str(tmp_path)], capture_output=True, text=True,
                            env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: no mesh key configured (mesh.key_file); refusing to join a mesh without one"]


def test_mesh_sim_from_a_surveyed_link_file(capsys, tmp_path):
    site = tmp_path / "site.json"
    site.write_text(json.dumps({"links": [{"a": 0, "b": 1, "snr_db": 8}, {"a": 1, "b": 2, "loss": 0.2},
                                          {"a": 2, "b": 3, "snr_db": -10, "one_way": True}]}))
    code, out, _ = run(capsys, "mesh", "sim", "--links", str(site), "--messages", "6", "--seed", "2", "--json")
    data = json.loads(out)
    assert code == 0 and data["nodes"] == 4 and data["topology"] == "file"
    site.write_text('{"links": [{"a": 0, "b": 0}]}')
    code, _, err = run(capsys, "mesh", "sim", "--links", str(site))
    assert code == 2 and err.startswith("error: link file")


def test_mesh_send_reaches_a_running_node_on_loopback(tmp_path, key_file):
    env = {**os.environ, "PYTHONPATH": str(AGENT)}
    port_a, port_b = free_udp_ports(2)
    common = ["--key", str(key_file), "--radio", "udp", "--sf", "7", "--beacon-interval", "0"]
    receiver = subprocess.Popen(
        [sys.executable, "-m", "evy", "mesh", "run", *common, "--node-id", "e50000b2", "--state-dir",
         str(tmp_path / "b"), "--udp-bind", f"127.0.0.1:{port_b}", "--udp-peer", f"127.0.0.1:{port_a}"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert json.loads(receiver.stdout.readline())["event"] == "ready"
        sender = [sys.executable, "-m", "evy", "mesh", "send", *common, "--node-id", "e50000a1", "--state-dir",
                  str(tmp_path / "a"), "--udp-bind", f"127.0.0.1:{port_a}", "--udp-peer", f"127.0.0.1:{port_b}"]
        sent = subprocess.run([*sender, "--to", "e50000b2", "--number", "+254700000009", "--text", "ping",
                               "--wait", "30"], capture_output=True, text=True, env=env, timeout=60)
        assert sent.returncode == 0, sent.stderr
        assert json.loads(sent.stdout)["delivered"] is True
        event = json.loads(receiver.stdout.readline())
        assert event["event"] == "message" and event["body"]["text"] == "ping" and event["source"] == "e50000a1"
        lost = subprocess.run([*sender, "--to", "e50000c3", "--text", "nobody", "--wait", "2"],
                              capture_output=True, text=True, env=env, timeout=60)
        assert lost.returncode == 1 and json.loads(lost.stdout)["delivered"] is False
    finally:
        receiver.stdin.close()
        receiver.wait(timeout=20)
        receiver.stdout.close()
        receiver.stderr.close()


def test_mesh_status_reads_the_state(capsys, tmp_path, key_file):
    code, out, _ = run(capsys, "mesh", "status", "--state-dir", str(tmp_path / "fresh"))
    data = json.loads(out)
    assert code == 0 and data["node_id"] is None and data["key_configured"] is False
    assert data["routine_allowance_s"] == 180.0 and data["emergency_allowance_s"] == 360.0


def test_mesh_listen_prints_each_message_and_stops_at_count(tmp_path, key_file):
    env = {**os.environ, "PYTHONPATH": str(AGENT)}
    port_a, port_b = free_udp_ports(2)
    common = ["--key", str(key_file), "--radio", "udp", "--sf", "7", "--beacon-interval", "0"]
    listener = subprocess.Popen(
        [sys.executable, "-m", "evy", "mesh", "listen", *common, "--node-id", "e50000b2", "--state-dir",
         str(tmp_path / "b"), "--udp-bind", f"127.0.0.1:{port_b}", "--udp-peer", f"127.0.0.1:{port_a}",
         "--count", "2", "--timeout", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert json.loads(listener.stdout.readline()) == {"event": "ready", "node": "e50000b2",
                                                          "network": f"{_network(key_file)}"}
        sender = [sys.executable, "-m", "evy", "mesh", "send", *common, "--node-id", "e50000a1", "--state-dir",
                  str(tmp_path / "a"), "--udp-bind", f"127.0.0.1:{port_a}", "--udp-peer", f"127.0.0.1:{port_b}"]
        for text in ("first", "second"):
            sent = subprocess.run([*sender, "--to", "e50000b2", "--kind", "alert", "--text", text, "--wait", "30"],
                                  capture_output=True, text=True, env=env, timeout=60)
            assert sent.returncode == 0 and json.loads(sent.stdout)["delivered"] is True, sent.stderr
        assert listener.wait(timeout=30) == 0
        events = [json.loads(line) for line in listener.stdout.read().splitlines()]
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait()
        listener.stdout.close()
        listener.stderr.close()
    assert [(e["event"], e.get("body", {}).get("text")) for e in events] == [
        ("message", "first"), ("message", "second"), ("stopped", None)]
    assert events[0]["source"] == "e50000a1" and events[0]["kind"] == "alert"
    assert events[-1] == {"event": "stopped", "reason": "count", "received": 2}


def _network(key_file) -> str:
    from evy.mesh.keys import NetworkKey

    return f"{NetworkKey.load(key_file).network_id:04x}"


@pytest.mark.parametrize("count, code", [(1, 1), (0, 0)])
def test_mesh_listen_timeout(tmp_path, key_file, count, code):
    (port,) = free_udp_ports(1)
    result = subprocess.run(
        [sys.executable, "-m", "evy", "mesh", "listen", "--key", str(key_file), "--radio", "udp", "--udp-bind",
         f"127.0.0.1:{port}", "--udp-peer", f"127.0.0.1:{port}", "--state-dir", str(tmp_path), "--sf", "7",
         "--beacon-interval", "0", "--count", str(count), "--timeout", "0.5"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(AGENT)}, timeout=60)
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == code, result.stderr
    assert [e["event"] for e in events] == ["ready", "stopped"]
    assert events[-1] == {"event": "stopped", "reason": "timeout", "received": 0}


def test_mesh_listen_refuses_a_negative_count(capsys, key_file):
    code, out, err = run(capsys, "mesh", "listen", "--key", str(key_file), "--count", "-1")
    assert code == 2 and out == "" and err.startswith("error: --count")
