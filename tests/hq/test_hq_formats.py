"""Property tests for what the cell parses and writes: the downlink payload check (any form input is either
refused with a reason or gives a payload kits can use), the envelope round trip, and the one place SQL
placeholders are adapted for psycopg."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evy.downlink.envelope import decode, topic_for
from evy.downlink.keys import SigningKey, verifies
from evy.downlink.send import Signer
from evy.hq import outbox
from evy.hq.backend import for_psycopg, redacted

ANY = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)


@given(st.sampled_from(["broadcast", "localinfo", "gossip"]),
       st.fixed_dictionaries({}, optional={"text": st.text(max_size=2000) | ANY,
                                           "audience": st.sampled_from(outbox.AUDIENCES) | ANY,
                                           "hours": st.floats(-10, 10_000) | ANY,
                                           "topic": st.sampled_from(["water", "shelter"]) | ANY,
                                           "language": st.sampled_from(["", "sw", "fr"]) | ANY}))
def test_a_payload_is_refused_with_a_reason_or_is_one_kits_can_use(kind, payload):
    try:
        checked = outbox.checked_payload(kind, payload, now=1000.0)
    except outbox.OutboxError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert 0 < len(checked["text"]) <= outbox.MAX_TEXT and checked["text"] == checked["text"].strip()
    if kind == "broadcast":
        assert checked["audience"] in outbox.AUDIENCES
        assert checked["audience"] != "recent" or 0 < checked["hours"] <= 720
    else:
        assert checked["topic"] in ("water", "shelter") and checked["expires_at"] > 1000.0


@pytest.fixture(scope="module")
def signer(tmp_path_factory) -> Signer:
    path = tmp_path_factory.mktemp("key") / "downlink.key"
    SigningKey.generate().save(path)
    return Signer.load(path)


KIT_IDS = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True).filter(lambda k: k not in ("all", "groups"))


@given(st.sampled_from(outbox.KINDS), KIT_IDS | st.just("all"),
       st.dictionaries(st.text(max_size=10), st.text() | st.integers(-2**53, 2**53) | st.none(), max_size=5),
       st.floats(0, 2e9))
def test_an_envelope_is_signed_for_its_destination_and_carries_the_payload_unchanged(signer, kind, kit, payload,
                                                                                      at):
    envelope = decode(outbox.envelope(signer, kind, kit, payload, at).encode())
    assert verifies(envelope, signer.key.private_key.public_key())
    assert (envelope.kind, envelope.payload, envelope.signer) == (kind, payload, signer.fingerprint)
    assert envelope.target == ("all" if kit == "all" else f"kit:{kit}")
    assert outbox.topic_for(kit, kind) == topic_for(envelope.target, kind)
    assert outbox.is_downlink(outbox.topic_for(kit, kind))


@given(st.text(alphabet="?%'abc ,()=", max_size=60))
def test_placeholders_become_psycopg_ones_and_a_literal_percent_survives(sql):
    adapted = for_psycopg(sql)
    assert adapted.count("%s") >= sql.count("?")
    assert adapted.replace("%s", "?").replace("%%", "%") == sql


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://evy:secret@db/evy_hq", "postgresql://evy:***@db/evy_hq"),
    ("postgresql://evy@/evy_hq?host=/run/postgresql", "postgresql://evy@/evy_hq?host=/run/postgresql"),
])
def test_a_database_url_is_shown_without_its_password(url, shown):
    assert redacted(url) == shown
