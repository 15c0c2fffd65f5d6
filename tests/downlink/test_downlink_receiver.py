"""The kit's downlink checks and appliers on a real SQLite store and real files, without a broker: what is
applied goes through broadcast/, localinfo/, the protocol library's and the knowledge base's own checks and
the settings table; what is refused changes nothing and is logged and queued for the cell."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jsonschema
import pytest

from evy.config import parse
from evy.config.core import updates_dir
from evy.config.loader import with_updates
from evy.downlink.envelope import Envelope, encode, topic_for
from evy.downlink.keys import SigningKey, parse_pinned
from evy.downlink.receiver import Downlink
from evy.fleet import events
from evy.fleet.snapshots import health_snapshot
from evy.messages import Priority
from evy.metrics.collector import render
from evy.protocols import library, lookup, updates
from evy.rag import corpus, open_index
from evy.store import Store, outbox
from evy.store import broadcasts as store_broadcasts
from evy.store import downlink as store_downlink
from evy.store import localinfo as store_localinfo
from evy.store.optouts import set_opted_out

KEY = SigningKey.generate()
OTHER = SigningKey.generate()
NOW = time.time()
SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "fleet-schema.json").read_text())


@pytest.fixture
def kit(tmp_path):
    config = parse(f'country = "KE"\ndata_dir = "{tmp_path}"\n[broadcast]\nsend_interval = 1.0\n'
                   '[downlink]\ngroups = ["north"]\n')
    with Store.open(tmp_path / "evy.db") as store:
        downlink = Downlink(config, store.path, "kit-a", parse_pinned(KEY.pinned_line(), "pinned"), clock=lambda: NOW)
        yield downlink, store, config


def message(kind: str, payload: dict, seq: int, target: str = "kit:kit-a", key: SigningKey = KEY) -> tuple[str, bytes]:
    envelope = key.sign(Envelope(kind, target, key.fingerprint, seq, int(NOW), payload))
    return topic_for(target, kind), encode(envelope)


def reported(store: Store) -> list[tuple[str, dict]]:
    """The downlink events queued for the cell, each checked against the published fleet schema."""
    rows = store.db.execute("SELECT seq, type, priority, at, data FROM uplink WHERE topic = 'downlink'"
                            " ORDER BY seq").fetchall()
    for seq, type_, priority, at, data in rows:
        jsonschema.validate(json.loads(events.encode_stored("kit-a", seq, type_, at, priority, data)), SCHEMA)
    return [(row[1], json.loads(row[4])) for row in rows]


FACT = {"topic": "water", "text": "Clean water at the school gate, 8-12 daily.", "expires_at": NOW + 86400}


def test_a_signed_fact_is_set_as_the_console_sets_it_and_reported(kit):
    downlink, store, _ = kit
    assert downlink.handle(*message("localinfo", FACT, 5)) == "applied"
    [fact] = store_localinfo.listing(store)
    assert (fact.topic, fact.text, fact.updated_by) == ("water", FACT["text"], f"hq:{KEY.fingerprint}:5")
    [(kind, data)] = reported(store)
    assert kind == "downlink.applied" and data["seq"] == 5 and data["kind"] == "localinfo"
    assert store_downlink.signer_state(store, KEY.fingerprint).last_seq == 5


def test_the_last_message_delivered_again_changes_nothing_and_is_no_refusal(kit):
    downlink, store, _ = kit
    sent = message("localinfo", FACT, 5)
    assert downlink.handle(*sent) == "applied"
    assert downlink.handle(*sent) == "duplicate"
    assert len(store_localinfo.listing(store)) == 1 and len(reported(store)) == 1


@pytest.mark.parametrize(("case", "reason"), [
    ("tampered", "bad signature"), ("another key", "not pinned"), ("replay", "replay or a rollback"),
    ("rollback", "replay or a rollback"), ("wrong target", "is not this kit"), ("topic mismatch", "the topic says"),
    ("malformed", "malformed"), ("unknown field", "unknown field"),
])
def test_refused_messages_change_nothing_and_are_reported(kit, case, reason):
    downlink, store, _ = kit
    first, second = message("localinfo", FACT, 7), message("localinfo", {**FACT, "topic": "food"}, 8)
    assert downlink.handle(*first) == "applied" and downlink.handle(*second) == "applied"
    before = store_localinfo.listing(store)
    topic, raw = message("localinfo", {**FACT, "text": "Water at the river."}, 9)
    bad = {
        "tampered": (topic, raw.replace(b"the river", b"the ocean")),
        "another key": message("localinfo", FACT, 9, key=OTHER),
        "replay": first,
        "rollback": message("localinfo", {**FACT, "text": "Old news."}, 6),
        "wrong target": message("localinfo", FACT, 9, target="kit:kit-b"),
        "topic mismatch": (topic_for("all", "localinfo"), raw),
        "malformed": (topic, b'{"v":1,'),
        "unknown field": message("localinfo", {**FACT, "colour": "red"}, 9),
    }[case]
    assert downlink.handle(*bad) == "refused"
    assert store_localinfo.listing(store) == before
    assert store_downlink.signer_state(store, KEY.fingerprint).last_seq == 8
    kind, data = reported(store)[-1]
    assert kind == "downlink.refused" and reason in data["reason"], data
    assert store_downlink.summary(store)["refused"] == 1


def test_messages_for_its_group_and_for_all_are_taken(kit):
    downlink, _store, _ = kit
    assert downlink.handle(*message("localinfo", FACT, 1, target="group:north")) == "applied"
    assert downlink.handle(*message("localinfo", FACT, 2, target="all")) == "applied"
    assert downlink.handle(*message("localinfo", FACT, 3, target="group:south")) == "refused"


def test_a_broadcast_obeys_opt_outs_and_the_pace_and_is_queued_once(kit):
    downlink, store, _ = kit
    with store.transaction() as db:
        for number in ("+254711000001", "+254711000002", "+254711000003"):
            store_broadcasts.subscribe(db, number, "en", NOW - 60)
        set_opted_out(db, "+254711000003", True, NOW - 30)
        store_broadcasts.forget_on_stop(db, "+254711000003", NOW - 30)
    sent = message("broadcast", {"text": "Road to Lodwar closed by floods until Friday."}, 11)
    assert downlink.handle(*sent) == "applied"
    rows = store.db.execute("SELECT recipient, priority FROM outbox WHERE kind = ?",
                            (store_broadcasts.KIND,)).fetchall()
    assert sorted(row[0] for row in rows) == ["+254711000001", "+254711000002"]
    assert {row[1] for row in rows} == {int(Priority.BROADCAST)}
    # a redelivery after a crash between the queueing and its record finds the broadcast by its marker
    with store.transaction() as db:
        db.execute("DELETE FROM downlink_signers")
    assert downlink.handle(*sent) == "applied"
    assert len(store.db.execute("SELECT id FROM broadcasts").fetchall()) == 1
    assert outbox.next_due_time(store) is not None


def test_an_expired_or_too_long_broadcast_is_refused(kit):
    downlink, store, _ = kit
    with store.transaction() as db:
        store_broadcasts.subscribe(db, "+254711000001", "en", NOW - 60)
    assert downlink.handle(*message("broadcast", {"text": "Old", "expires_at": NOW - 1}, 1)) == "refused"
    assert downlink.handle(*message("broadcast", {"text": "x" * 2000}, 2)) == "refused"
    assert "SMS" in reported(store)[-1][1]["reason"]
    assert store.db.execute("SELECT COUNT(*) FROM broadcasts").fetchone()[0] == 0


def safe_library() -> str:
    text = library.shipped_text("en")
    old = "1. Cool under cool running water for 20 minutes. No ice, butter or paste."
    assert old in text
    return text.replace(old, "1. Cool the burn under cool running water for 20 minutes. No ice, butter or paste.")


def test_a_protocol_update_that_passes_the_safety_check_is_kept_and_used_from_the_next_start(kit):
    downlink, _store, config = kit
    assert downlink.handle(*message("protocols", {"language": "en", "library": safe_library()}, 1)) == "applied"
    folder = updates_dir(config["data_dir"]) / "protocols"
    assert (folder / "en.toml").read_text() == safe_library()
    assert "Cool the burn" not in lookup("burns", "en", "112").text  # not in the middle of a run
    try:
        assert updates.use(folder) == ["en"]  # what the next start does
        assert "Cool the burn" in lookup("burns", "en", "112").text
    finally:
        updates.use(None)
    assert "Cool the burn" not in lookup("burns", "en", "112").text


@pytest.mark.parametrize(("change", "reason"), [
    (("No ice, butter or paste.", "Put ice or butter on it."), "fails the safety check"),
    (("[protocol.burns", "[protocol.scalds"), "drops protocol(s) burns"),
    (("language = \"en\"", "language = \"xx\""), "`language` must be 'en'"),
])
def test_a_protocol_update_that_fails_a_check_is_refused_and_not_written(kit, change, reason):
    downlink, store, config = kit
    unsafe = library.shipped_text("en").replace(*change)
    assert downlink.handle(*message("protocols", {"language": "en", "library": unsafe}, 1)) == "refused"
    assert reason in reported(store)[-1][1]["reason"]
    assert not (updates_dir(config["data_dir"]) / "protocols").exists()


def test_an_update_cannot_pass_by_dropping_a_pattern_or_adding_a_negation_word(kit):
    downlink, store, _ = kit
    shipped = library.shipped_text("en")
    dropped = shipped.replace("must_not = ['\\bice\\b', ", "must_not = [", 1).replace(
        "No ice, butter or paste.", "Rub ice on it.", 1)
    assert dropped != shipped and "Rub ice" in dropped
    negated = shipped.replace('cues = ["no", ', 'cues = ["rub", "no", ', 1).replace(
        "No ice, butter or paste.", "Rub ice on it.", 1)
    for seq, text in enumerate((dropped, negated), start=1):
        assert downlink.handle(*message("protocols", {"language": "en", "library": text}, seq)) == "refused"
        assert r"burns breaks must_not \bice\b" in reported(store)[-1][1]["reason"]


def test_a_kept_update_checked_against_another_shipped_library_is_ignored(kit, tmp_path):
    downlink, _, config = kit
    assert downlink.handle(*message("protocols", {"language": "en", "library": safe_library()}, 1)) == "applied"
    folder = updates_dir(config["data_dir"]) / "protocols"
    (folder / "en.base").write_text("0" * 64 + "\n")  # as if the image shipped another en.toml since
    try:
        assert updates.use(folder) == []
    finally:
        updates.use(None)


KB = """---
topic: water_points
source: WHO, Guidelines for drinking-water quality
---

## Safe water from a water point
Boil water for one minute, or use the chlorine tablets given at the point, before drinking.
"""


def test_a_knowledge_update_is_kept_and_indexed_with_the_shipped_files(kit):
    downlink, _, config = kit
    assert downlink.handle(*message("knowledge", {"language": "en", "name": "water_points", "markdown": KB}, 1)) \
        == "applied"
    folder = updates_dir(config["data_dir"]) / "knowledge"
    chunks = corpus.load(updates=folder)
    assert len(chunks) == len(corpus.load()) + 1
    assert any(chunk.key == "en/water_points#1" for chunk in chunks)


def test_the_index_opened_at_the_next_start_is_rebuilt_with_the_update(kit):
    downlink, _, config = kit
    keywords_only = config.replace(rag__embed_model="")  # no embedding model needed to show the rebuild
    with open_index(keywords_only) as before:
        assert before.passages == len(corpus.load())
    assert downlink.handle(*message("knowledge", {"language": "en", "name": "water_points", "markdown": KB}, 1)) \
        == "applied"
    with open_index(keywords_only) as after:
        assert after.passages == len(corpus.load()) + 1
        assert "chlorine tablets" in after.search("chlorine tablets at the water point", 1, "en")[0].text


def test_a_malformed_knowledge_update_is_refused(kit):
    downlink, _store, config = kit
    bad = KB.replace("## Safe water from a water point\n", "")
    assert downlink.handle(*message("knowledge", {"language": "en", "name": "water_points", "markdown": bad}, 1)) \
        == "refused"
    assert not (updates_dir(config["data_dir"]) / "knowledge").exists()


def test_config_updates_only_for_allowed_settings_validated_by_the_table(kit):
    downlink, store, config = kit
    assert downlink.handle(*message("config", {"settings": {"broadcast.send_interval": 20}}, 1)) == "applied"
    assert downlink.handle(*message("config", {"settings": {"fleet.max_bytes_per_second": 300}}, 2)) == "applied"
    for seq, settings in enumerate([{"emergency_number": "+254700000000"},
                                    {"downlink.keys_file": "/tmp/evil"},
                                    {"broadcast.send_interval": -5}], start=3):
        assert downlink.handle(*message("config", {"settings": settings}, seq)) == "refused"
    reasons = [data["reason"] for kind, data in reported(store) if kind == "downlink.refused"]
    assert "may not be changed" in reasons[0] and "may not be changed" in reasons[1]
    assert reasons[2].startswith("config: broadcast.send_interval:")
    updated = with_updates(config)
    assert (updated["broadcast.send_interval"], updated["fleet.max_bytes_per_second"]) == (20.0, 300.0)
    assert updated.emergency_number == config.emergency_number


def test_a_config_update_file_that_was_tampered_with_on_disk_is_ignored(kit):
    _, _, config = kit
    path = updates_dir(config["data_dir"]) / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('emergency_number = "+254700000000"\n')
    assert with_updates(config).emergency_number == config.emergency_number


def test_fleet_status_shows_what_was_refused(kit, tmp_path, capsys):
    from evy.cli import main

    downlink, store, config = kit
    downlink.handle(*message("localinfo", FACT, 1, key=OTHER))
    config_file = Path(tmp_path / "evy.toml")
    config_file.write_text(f'data_dir = "{tmp_path}"\n')
    assert main(["fleet", "status", "--config", str(config_file)]) == 0
    shown = json.loads(capsys.readouterr().out)["downlink"]
    assert shown["refused"] == 1 and "not pinned" in shown["recent_refused"][0]["reason"]
    assert main(["status", "--config", str(config_file)]) == 0
    assert json.loads(capsys.readouterr().out)["downlink"]["refused"] == 1
    snapshot = health_snapshot(store, config, NOW)  # what the cell hears of the kit's health
    assert snapshot["downlink"] == {"applied": 0, "refused": 1}
    event = events.Event("kit-a", 1, "health", "health", NOW, 4, snapshot)
    jsonschema.validate(json.loads(events.encode(event)), SCHEMA)
    assert 'evy_downlink_messages_total{kind="localinfo",outcome="refused"} 1.0' in render(store, config).decode()


def test_the_settings_the_cell_may_change_are_listed_in_the_docs_and_the_table():
    from evy.config.table import TABLE
    from evy.downlink.settings import REMOTE_SETTINGS

    doc = (Path(__file__).parents[2] / "docs" / "fleet.md").read_text()
    for key in REMOTE_SETTINGS:
        assert key in TABLE.by_key and f"`{key}`" in doc, key
    assert not {"emergency_number", "country", "downlink.keys_file", "fleet.broker_host"} & set(REMOTE_SETTINGS)


def test_a_salvaged_store_still_refuses_a_replay(kit):
    from evy.store import salvage

    downlink, store, _ = kit
    first = message("localinfo", FACT, 3)
    assert downlink.handle(*first) == "applied"
    assert downlink.handle(*message("localinfo", {**FACT, "topic": "food"}, 4)) == "applied"
    salvage.replace_damaged(store, "damaged (test)")  # moved aside, every readable row carried over
    assert store_downlink.signer_state(store, KEY.fingerprint).last_seq == 4
    assert downlink.handle(*first) == "refused"
