"""The signed downlink end to end: a real Mosquitto (TLS, logins), `evy hq run` and `evy hq send` in processes
of their own, the real agent over the pty modem simulator. A signed broadcast reaches the kit and its SMS
leave through the modem to subscribers only; a tampered one, one signed with another key, a replay, a
rollback and a protocol update that fails the safety check are refused, change nothing, and reach the cell
as `downlink.refused` events; a kit that was away gets what was sent meanwhile when it comes back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evy.config import load
from evy.downlink.envelope import encode, topic_for
from evy.downlink.keys import SigningKey
from evy.downlink.send import build, next_seq, publish
from evy.pipeline.kit import SimulatedKit
from evy.protocols import library, lookup
from evy.store import Store

from .conftest import evy_process, wait_for

pytestmark = pytest.mark.timeout(240)
BASE = 'country = "KE"\n[brain]\nfollowup = false\n'
SUBSCRIBERS = ("+254711000001", "+254711000002")
STOPPED = "+254711000003"
NEWS = "Road to Lodwar closed by floods until Friday. Use the Kakuma road."


@pytest.fixture
def signing(tmp_path):
    key_path = tmp_path / "cell.key"
    SigningKey.generate().save(key_path)
    pinned = tmp_path / "downlink-keys"
    pinned.write_text(Path(f"{key_path}.pub").read_text())
    return key_path, pinned


def downlink_kit(broker, pinned: Path, data_dir: Path) -> SimulatedKit:
    return SimulatedKit(BASE, data_dir=data_dir, fleet__enabled=True, fleet__kit_id="kit-a", fleet__keepalive=5,
                        fleet__health_interval=30.0, downlink__keys_file=str(pinned), downlink__groups=["north"],
                        broadcast__send_interval=0.2,
                        **broker.settings("kit-a"))


def hq_send(cell, key_path: Path, kind: str, to: str, file: Path) -> dict:
    process = evy_process("-m", "evy", "hq", "send", kind, "--to", to, str(file), "--key", str(key_path),
                          "--config", str(cell.config))
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return json.loads(out)


def downlink_events(cell) -> list[tuple[str, dict]]:
    if not (cell.dir / "hq.sqlite").exists():
        return []
    with cell.database() as database:
        rows = database.sql.rows("SELECT type, data FROM events WHERE kit = 'kit-a' AND topic = 'downlink'"
                                 " ORDER BY seq")
    return [(row["type"], json.loads(row["data"])) for row in rows]


def texts_to(kit: SimulatedKit, number: str) -> list[str]:
    return [reply.text for reply in kit.replies(0) if reply.recipient == number and reply.complete]


def test_a_signed_broadcast_goes_out_and_bad_messages_are_refused_and_reported(broker, cell, signing, tmp_path):
    key_path, pinned = signing
    hq = load(cell.config)
    other = SigningKey.generate()
    with downlink_kit(broker, pinned, tmp_path / "kit") as kit:
        for number in (*SUBSCRIBERS, STOPPED):
            kit.sim.deliver(number, "JOIN")
        kit.sim.deliver(STOPPED, "STOP")
        wait_for(lambda: len(texts_to(kit, STOPPED)) == 2 and all(texts_to(kit, n) for n in SUBSCRIBERS),
                 what="the JOIN and STOP confirmations")
        wait_for(lambda: cell.ids("kit-a"), what="the kit's first event at the cell (it is subscribed)")

        sent = tmp_path / "broadcast.json"
        sent.write_text(json.dumps({"text": NEWS}))
        shown = hq_send(cell, key_path, "broadcast", "kit-a", sent)
        assert shown["topic"] == "evy/v1/kit-a/down/broadcast"
        wait_for(lambda: all(NEWS in texts_to(kit, n) for n in SUBSCRIBERS), what="the broadcast SMS")

        key = SigningKey.load(key_path)

        def signed(kind: str, payload: dict, seq: int | None = None, signer: SigningKey = key) -> bytes:
            seq = next_seq(key_path, 1.0) if seq is None else seq
            return encode(build(signer, kind, "kit:kit-a", payload, seq, 1.0))

        water = {"topic": "water", "text": "Clean water at the school gate.", "expires_at": 4_000_000_000}
        first_fact = signed("localinfo", water)
        publish(hq, topic_for("kit:kit-a", "localinfo"), first_fact)
        publish(hq, topic_for("kit:kit-a", "localinfo"), signed("localinfo", {**water, "topic": "food"}))
        wait_for(lambda: [t for t, _ in downlink_events(cell)].count("downlink.applied") == 3, what="3 applied")

        broadcast_topic = topic_for("kit:kit-a", "broadcast")
        publish(hq, broadcast_topic, signed("broadcast", {"text": "Shelter at the church."}).replace(
            b"the church", b"the river"))  # tampered
        publish(hq, broadcast_topic, signed("broadcast", {"text": "Shelter at the river."}, signer=other))
        publish(hq, topic_for("kit:kit-a", "localinfo"), first_fact)  # replay
        publish(hq, broadcast_topic, signed("broadcast", {"text": "Old news."}, seq=1))  # rollback
        unsafe = tmp_path / "en.toml"
        unsafe.write_text(library.shipped_text("en").replace("No ice, butter or paste.", "Put ice or butter on it."))
        hq_send(cell, key_path, "protocols", "all", unsafe)

        wait_for(lambda: [t for t, _ in downlink_events(cell)].count("downlink.refused") == 5, timeout=60,
                 what="5 refusals at the cell")
        reasons = [data["reason"] for kind, data in downlink_events(cell) if kind == "downlink.refused"]
        shown = evy_process("-m", "evy", "hq", "downlink", "--config", str(cell.config))
        outcomes = json.loads(shown.communicate(timeout=60)[0])
        assert [o["outcome"] for o in outcomes].count("refused") == 5 and outcomes[0]["kit"] == "kit-a"
        assert "bad signature" in reasons[0] and "not pinned" in reasons[1]
        assert "replay or a rollback" in reasons[2] and "replay or a rollback" in reasons[3]
        assert "fails the safety check" in reasons[4]
        with Store.open(kit.data_dir / "evy.db") as own:
            assert own.db.execute("SELECT COUNT(*) FROM broadcasts").fetchone()[0] == 1
            assert own.db.execute("SELECT COUNT(*) FROM local_info").fetchone()[0] == 2
        assert not (tmp_path / "kit" / "updates" / "protocols").exists()
        assert not any(NEWS in text for text in texts_to(kit, STOPPED))
        assert all(texts_to(kit, n).count(NEWS) == 1 for n in SUBSCRIBERS)
        assert not any("river" in reply.text or "Old news" in reply.text for reply in kit.replies(0))
    with cell.database() as database:  # the cell takes the uplink only, never its own downlink
        assert database.counts()["rejected"] == 0


def test_a_kit_that_was_away_gets_what_was_sent_meanwhile(broker, cell, signing, tmp_path):
    key_path, pinned = signing
    data_dir = tmp_path / "kit"
    with downlink_kit(broker, pinned, data_dir):
        wait_for(lambda: cell.ids("kit-a"), what="the kit's session and subscription")
    # the kit is away: its persistent session keeps what is sent
    fact = tmp_path / "fact.json"
    fact.write_text(json.dumps({"topic": "shelter", "text": "Shelter at St Mary's school hall.",
                                "expires_at": 4_000_000_000}))
    assert hq_send(cell, key_path, "localinfo", "group:north", fact)["topic"] == "evy/v1/groups/north/down/localinfo"
    library_file = tmp_path / "en.toml"
    new = "1. Cool the burn under running water for 20 minutes."
    library_file.write_text(library.shipped_text("en").replace("1. Cool under cool running water for 20 minutes.", new))
    hq_send(cell, key_path, "protocols", "kit-a", library_file)
    pace = tmp_path / "pace.json"
    pace.write_text(json.dumps({"settings": {"broadcast.send_interval": 7}}))
    hq_send(cell, key_path, "config", "all", pace)
    try:
        with downlink_kit(broker, pinned, data_dir) as kit:
            wait_for(lambda: [t for t, _ in downlink_events(cell)].count("downlink.applied") == 3, timeout=60,
                     what="all three applied after the kit came back")
            kit.sim.deliver("+254711000009", "where is the shelter?")
            wait_for(lambda: any("St Mary" in text for text in texts_to(kit, "+254711000009")),
                     what="the fact in a reply")
            assert "Cool the burn" not in lookup("burns", "en", "112").text  # protocols: from the next start
            assert kit.agent.config["broadcast.send_interval"] == 0.2  # settings too
        with downlink_kit(broker, pinned, data_dir) as kit:
            assert "Cool the burn" in lookup("burns", "en", "112").text
            assert kit.agent.config["broadcast.send_interval"] == 7.0
        assert "Cool the burn" not in lookup("burns", "en", "112").text  # a closed kit leaves the shipped library
    finally:
        library.install_updates({})
