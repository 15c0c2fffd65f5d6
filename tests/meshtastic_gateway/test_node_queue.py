"""The twin's queue for its client follows MeshService::sendToPhone: at most ``to_phone_limit`` packets; when
full a text displaces the oldest packet and anything else is dropped; a client gets them after its handshake.
And the release frames reach a node whose parser was left inside a frame."""

from __future__ import annotations

import pytest

pytest.importorskip("meshtastic")

from hypothesis import given, settings
from hypothesis import strategies as st
from meshtastic.protobuf import mesh_pb2

from evy.meshtastic.release import disconnect_frames
from evy.meshtastic.stream import FrameReader, frame
from evy.meshtastic.twin import MeshtasticTwin

SENDER = 0xA1B2C3D4


@settings(max_examples=60, deadline=None)
@given(limit=st.integers(1, 10), arrivals=st.lists(st.booleans(), max_size=40))
def test_a_full_queue_keeps_every_recent_text_and_drops_other_packets_that_find_no_room(limit, arrivals):
    twin = MeshtasticTwin(to_phone_limit=limit)  # never plugged: no client, everything waits
    texts, others = [], []
    for is_text in arrivals:
        (texts if is_text else others).append(twin.direct(SENDER, "help") if is_text else twin.position(SENDER))
    kept = twin.waiting_ids
    assert len(kept) == min(limit, len(arrivals)) and len(kept) + len(twin.dropped) == len(arrivals)
    kept_texts = [i for i in kept if i in texts]
    assert kept_texts == texts[len(texts) - len(kept_texts):], "texts leave oldest first"
    assert not set(twin.dropped) & set(texts[-1:]), "the newest text always gets in"
    last = sorted(texts + others)[-limit:]
    assert set(last) & set(texts) <= set(kept), "every text among the last `limit` arrivals is kept"
    assert kept == sorted(kept), "handed over oldest first"
    twin.__exit__(None, None, None)


@given(partial=st.binary(max_size=600))
def test_the_release_reaches_a_node_left_inside_a_frame(partial):
    reader = FrameReader()
    reader.feed(frame(b"\x08\x01")[:3] + partial)  # a client killed mid-write, then anything
    disconnects = [raw for raw in reader.feed(disconnect_frames()) if raw == frame_payload()]
    assert disconnects, "the disconnect frame is read whole"


def frame_payload() -> bytes:
    return mesh_pb2.ToRadio(disconnect=True).SerializeToString()
