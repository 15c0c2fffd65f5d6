"""An operator hands a case to a neighbour kit nearer its sender: two real `evy run` processes on the UDP radio
twin (loopback), two simulated modems, one mesh key, and kit A's console (its real app, in this process, on
A's database) choosing kit B from A's neighbour table."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from evy.cases.code import case_code
from evy.config import load
from evy.console.app import create_app
from evy.console.auth import hash_password
from evy.console.handover import neighbours
from evy.console.web import Console
from evy.mesh.keys import generate_key_file
from evy.pipeline.kit import join_replies
from evy.sms.simulator import ModemSimulator
from evy.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

PHONE = "+254711000555"
KIT_A, KIT_B = "e5000011", "e5000023"
PASSWORD = "operator password 1"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def kit_config(directory: Path, port: str, key: Path, node: str, bind: int, peer: int) -> Path:
    directory.mkdir()
    config = directory / "evy.toml"
    config.write_text(
        f'country = "KE"\ndata_dir = "{directory}"\nresponder = "basic"\n[modem]\nport = "{port}"\n'
        "status_reports = false\n[outbox]\nnetwork_hold = 1.0\nbackoff = 0.5\n"
        f'[mesh]\nenabled = true\nradio = "udp"\nkey_file = "{key}"\nnode_id = "{node}"\n'
        f'udp_bind = "127.0.0.1:{bind}"\nudp_peers = ["127.0.0.1:{peer}"]\nbeacon_interval = 1.0\n'
        "spreading_factor = 7\n[health]\nsnapshot_interval = 5.0\n")
    return config


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout} s")


def read(path: Path, sql: str, *params) -> list[tuple]:
    with Store.open(path) as store:
        return [tuple(row) for row in store.db.execute(sql, params)]


def test_a_case_handed_to_a_nearer_kit_opens_there_and_its_sender_is_told_once(tmp_path, agents) -> None:
    key = generate_key_file(tmp_path / "mesh.key")
    modem_a, modem_b = ModemSimulator().start(), ModemSimulator().start()
    port_a, port_b = free_udp_port(), free_udp_port()
    config_a = kit_config(tmp_path / "a", modem_a.port, key, KIT_A, port_a, port_b)
    config_b = kit_config(tmp_path / "b", modem_b.port, key, KIT_B, port_b, port_a)
    db_a, db_b = tmp_path / "a" / "evy.db", tmp_path / "b" / "evy.db"
    for config in (config_a, config_b):
        agents.start(config)
    try:
        modem_a.deliver(PHONE, "Fire at the market stalls, -1.2850, 36.8300, 3 people hurt")
        wait_for(lambda: any(r.complete and r.recipient == PHONE for r in join_replies(list(modem_a.sent))), 40,
                 "kit A answers the sender")
        [(case_a,)] = wait_for(lambda: read(db_a, "SELECT id FROM cases WHERE sender = ?", PHONE), 10, "A's case")
        code_a = case_code(case_a)
        with Store.open(db_a) as store:
            wait_for(lambda: any(peer["node"] == KIT_B for peer in neighbours(store)), 40,
                     "kit B in kit A's neighbour table")

        config = load(config_a).replace(console__operator_password_hash=hash_password(PASSWORD),
                                        console__listen=["127.0.0.1"])
        console = Console(config, db_a)
        with TestClient(create_app(console), base_url="http://127.0.0.1:8080") as client:
            login = client.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', login.text).group(1)
            client.post("/login", data={"csrf": token, "account": "operator", "password": PASSWORD})
            page = client.get(f"/cases/{code_a}")
            assert f'<option value="{KIT_B}">' in page.text
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            form = page.text[page.text.index('class="handover"'):]
            key_field = re.search(r'name="key" value="([^"]+)"', form).group(1)
            done = client.post(f"/cases/{code_a}/handover", data={"csrf": csrf, "key": key_field, "kit": KIT_B},
                               follow_redirects=False)
            assert done.status_code == 303 and "being%20handed%20to%20kit" in done.headers["location"]
            again = client.post(f"/cases/{code_a}/handover", data={"csrf": csrf, "key": key_field, "kit": KIT_B},
                                follow_redirects=False)
            assert "already" in again.headers["location"]

            told = wait_for(lambda: [r for r in join_replies(list(modem_b.sent))
                                     if r.complete and r.recipient == PHONE], 60, "kit B texts the sender")
            [(case_b, status_b, lat, people)] = read(db_b, "SELECT id, status, latitude, people FROM cases"
                                                           " WHERE sender = ?", PHONE)
            code_b = case_code(case_b)
            assert told[0].text == f"A team nearer to you now has your report: case {code_b}. Reply here with any news."
            assert (status_b, lat, people) == ("new", -1.285, 3)
            assert read(db_b, "SELECT peer, peer_code, state FROM case_handovers") == [(KIT_A, code_a, "received")]
            assert [text for (text,) in read(db_b, "SELECT text FROM messages WHERE case_id = ?", case_b)] == [
                "Fire at the market stalls, -1.2850, 36.8300, 3 people hurt"]

            wait_for(lambda: read(db_a, "SELECT status FROM cases WHERE id = ?", case_a) == [("closed",)], 30,
                     "A's case closes once B confirmed it")
            assert read(db_a, "SELECT peer, state FROM case_handovers") == [(KIT_B, "delivered")]
            actions = read(db_a, "SELECT actor, action, detail FROM audit_log WHERE case_id = ? ORDER BY id", case_a)
            assert actions == [("operator", "handover", f"to kit {KIT_B}"),
                               ("mesh", "handed-over", f"to kit {KIT_B}, which confirmed it")]
            assert "handed over (the kit confirmed)" in client.get(f"/cases/{code_a}").text
            console.store.close()

        time.sleep(3)  # whatever retries the mesh made, the sender was told once
        assert len([r for r in join_replies(list(modem_b.sent)) if r.recipient == PHONE]) == 1
        assert len(read(db_b, "SELECT id FROM cases WHERE sender = ?", PHONE)) == 1
    finally:
        for agent in agents.started:
            agents.stop(agent)
        modem_a.stop()
        modem_b.stop()
