"""The downlink envelope codec: what is signed round-trips through the wire and verifies; any change to a
signed field does not; arbitrary bytes and arbitrary JSON are refused with BadEnvelope, never anything else."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evy.downlink.envelope import (
    KINDS,
    MAX_BYTES,
    BadEnvelope,
    Envelope,
    decode,
    encode,
    parse_topic,
    subscriptions,
    topic_for,
)
from evy.downlink.keys import SigningKey, parse_pinned, verifies

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "downlink-schema.json").read_text())
KEY = SigningKey.generate()
OTHER = SigningKey.generate()
PUBLIC = parse_pinned(KEY.pinned_line("cell"), "pinned")[KEY.fingerprint]

names = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
targets = st.one_of(st.just("all"), names.map(lambda n: f"group:{n}"),
                    names.filter(lambda n: n not in ("all", "groups")).map(lambda n: f"kit:{n}"))
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**53, 2**53),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)
payloads = st.dictionaries(st.text(max_size=12), values, max_size=6)
envelopes = st.builds(lambda kind, target, seq, issued_at, payload: KEY.sign(
    Envelope(kind, target, KEY.fingerprint, seq, issued_at, payload)),
    st.sampled_from(KINDS), targets, st.integers(1, 2**63 - 1), st.integers(0, 2**40 - 1), payloads)


@settings(deadline=None)  # jsonschema on a busy machine
@given(envelopes)
def test_a_signed_envelope_round_trips_verifies_and_matches_the_published_schema(envelope):
    jsonschema.validate(json.loads(encode(envelope)), SCHEMA)
    decoded = decode(encode(envelope))
    assert decoded == envelope
    assert verifies(decoded, PUBLIC)
    assert decoded.digest() == envelope.digest()


@given(envelopes)
def test_re_spacing_and_re_escaping_the_json_keeps_the_signature(envelope):
    relayed = json.dumps(json.loads(encode(envelope)), ensure_ascii=True, indent=1).encode()
    assert verifies(decode(relayed), PUBLIC)


@given(envelopes, st.sampled_from(["kind", "target", "seq", "issued_at", "payload", "signer"]), st.data())
def test_changing_any_signed_field_breaks_the_signature(envelope, field, data):
    body = json.loads(encode(envelope))
    changed = {"kind": data.draw(st.sampled_from([k for k in KINDS if k != envelope.kind])),
               "target": data.draw(targets.filter(lambda t: t != envelope.target)),
               "seq": envelope.seq + 1 if envelope.seq < 2**63 - 1 else 1,
               "issued_at": (envelope.issued_at + 1) % 2**40,
               "payload": {**envelope.payload, "extra": 1} if "extra" not in envelope.payload else {},
               "signer": OTHER.fingerprint}[field]
    body[field] = changed
    assert not verifies(decode(json.dumps(body).encode()), PUBLIC)


@given(envelopes)
def test_another_keys_signature_does_not_verify(envelope):
    forged = Envelope(envelope.kind, envelope.target, KEY.fingerprint, envelope.seq, envelope.issued_at,
                      envelope.payload, OTHER.private_key.sign(envelope.canonical()))
    assert not verifies(decode(encode(forged)), PUBLIC)


@given(envelopes, st.data())
def test_a_message_changed_anywhere_verifies_only_if_it_still_says_the_same(envelope, data):
    raw = bytearray(encode(envelope))
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] ^= data.draw(st.integers(1, 255))
    try:
        changed = decode(bytes(raw))
    except BadEnvelope:
        return
    if verifies(changed, PUBLIC):
        assert changed == envelope  # e.g. 1e+16 read as 1E+16: the same values, so the same message


@given(st.binary(max_size=300))
def test_arbitrary_bytes_are_refused_by_name(raw):
    try:
        decode(raw)
    except BadEnvelope as exc:
        assert str(exc) and "\n" not in str(exc)


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from(["v", "kind", "target", "signer", "seq", "issued_at", "payload", "sig", "x"]),
                       values, max_size=9))
def test_arbitrary_json_objects_are_refused_or_decoded_never_crash(body):
    try:
        decode(json.dumps(body).encode())
    except BadEnvelope as exc:
        assert "\n" not in str(exc)
    else:  # what the codec takes, the schema describes
        jsonschema.validate(body, SCHEMA)


def test_what_is_refused_unread():
    good = encode(KEY.sign(Envelope("config", "all", KEY.fingerprint, 1, 1, {"settings": {}})))
    twice = good.replace(b'{"issued_at"', b'{"seq":2,"issued_at"', 1)
    with pytest.raises(BadEnvelope, match="appears twice"):
        decode(twice)
    with pytest.raises(BadEnvelope, match="bytes; at most"):
        decode(b" " * (MAX_BYTES + 1))
    with pytest.raises(BadEnvelope, match="NaN is not a number"):
        decode(good.replace(b'"issued_at":1', b'"issued_at":NaN'))
    with pytest.raises(BadEnvelope, match="sig is not"):
        decode(good.replace(b'"sig":"', b'"sig":"!!'))


@given(targets, st.sampled_from(KINDS))
def test_topics_name_their_target_and_kind(target, kind):
    assert parse_topic(topic_for(target, kind)) == (target, kind)


def test_a_kit_subscribes_to_its_own_the_fleets_and_its_groups_topics():
    assert subscriptions("kit-a", ("north",)) == ["evy/v1/kit-a/down/#", "evy/v1/all/down/#",
                                                  "evy/v1/groups/north/down/#"]
    for reserved in ("all", "groups"):
        with pytest.raises(BadEnvelope):
            subscriptions(reserved)
    with pytest.raises(BadEnvelope, match="not a downlink topic"):
        parse_topic("evy/v1/kit-a/cases")


def test_pinned_key_files_and_signing_keys_that_cannot_be_used_are_one_line_errors(tmp_path, capsys):
    from evy.cli import main
    from evy.downlink.keys import KeyFileError, load_pinned

    with pytest.raises(KeyFileError, match=r"keys:2: expected `ed25519"):
        parse_pinned("# the cell\nrsa AAAA\n", "keys")
    with pytest.raises(KeyFileError, match="not a base64 Ed25519 public key"):
        parse_pinned("ed25519 AAAA\n", "keys")
    (tmp_path / "empty").write_text("# nothing yet\n")
    with pytest.raises(KeyFileError, match="no downlink key pinned"):
        load_pinned(tmp_path / "empty")
    assert main(["hq", "keygen", str(tmp_path / "cell.key")]) == 0
    assert (tmp_path / "cell.key").stat().st_mode & 0o777 == 0o600
    fingerprint = json.loads(capsys.readouterr().out)["fingerprint"]
    assert list(load_pinned(tmp_path / "cell.key.pub")) == [fingerprint]
    assert main(["hq", "keygen", str(tmp_path / "cell.key")]) == 2
    assert "not overwriting" in capsys.readouterr().err
    config = tmp_path / "hq.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n')
    (tmp_path / "news.json").write_text('{"text": "Road closed."}')
    for argv, complaint in [
        (["broadcast", "--to", "kit:all", str(tmp_path / "news.json")], "target 'kit:all' is not"),
        (["broadcast", "--to", "kit-a", str(tmp_path / "missing.json")], "missing.json: cannot read"),
        (["broadcast", "--to", "kit-a", str(tmp_path / "hq.toml")], "not JSON"),
        (["broadcast", "--to", "kit-a", str(tmp_path / "news.json"), "--key", str(tmp_path / "hq.toml")],
         "not an unencrypted PEM private key"),
    ]:
        if "--key" not in argv:
            argv = [*argv, "--key", str(tmp_path / "cell.key")]
        assert main(["hq", "send", *argv, "--config", str(config)]) == 2
        err = capsys.readouterr().err
        assert complaint in err and err.count("\n") == 1, err
