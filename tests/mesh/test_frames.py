import contextlib

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from evy.mesh import frames
from evy.mesh.errors import ForeignNetwork, ForgedFrame, FrameError, MalformedFrame, PayloadTooLarge
from evy.mesh.frames import (
    HEADER_BYTES,
    MAX_BODY,
    MAX_FRAME,
    Frame,
    Header,
    Kind,
    Priority,
    open_frame,
    parse_header,
    reroute,
    seal,
)
from evy.mesh.keys import NetworkKey

from .conftest import SECRET, make_frame

KEY = NetworkKey.from_secret(SECRET)
OTHER = NetworkKey.from_secret(bytes(range(2, 18)))

node_ids = st.integers(1, 0xFFFFFFFE)
headers = st.builds(
    lambda kind, dest, src, pid, start, limit_frac, ack, prio, nh, relay: Header(
        kind, dest, src, pid, int(start * limit_frac), start, ack, prio, KEY.network_id, nh, relay),
    st.sampled_from(Kind), st.one_of(node_ids, st.just(frames.BROADCAST)), node_ids,
    st.integers(0, 0xFFFFFFFF), st.integers(0, 7), st.floats(0, 1), st.booleans(), st.sampled_from(Priority),
    st.integers(0, 255), st.integers(0, 255))
frames_ = st.builds(
    lambda h, mid, count, idx_frac, body: Frame(h, mid, min(int(count * idx_frac), count - 1), count, body),
    headers, st.integers(0, 0xFFFFFFFF), st.integers(1, 15), st.floats(0, 1), st.binary(max_size=MAX_BODY))


@settings(deadline=None)
@given(frames_)
def test_round_trip(frame):
    raw = seal(frame, KEY)
    assert len(raw) <= MAX_FRAME
    assert parse_header(raw) == frame.header
    assert open_frame(raw, KEY) == frame


@given(frames_, st.data())
@settings(max_examples=300, deadline=None)
def test_any_bit_flip_is_rejected(frame, data):
    raw = bytearray(seal(frame, KEY))
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] ^= 1 << data.draw(st.integers(0, 7))
    with pytest.raises(FrameError):
        open_frame(bytes(raw), KEY)


@settings(max_examples=300, deadline=None)
@given(frames_, st.integers(0, 7), st.integers(0, 255), st.integers(0, 255), st.binary(min_size=4, max_size=4))
def test_relay_fields_rewritten_without_the_key_are_forged(frame, hop_limit, next_hop, relay, tag):
    """The fields relays rewrite are outside the CCM associated data; the hop tag binds them instead."""
    genuine = seal(frame, KEY)
    forged = bytearray(genuine)
    forged[13] = forged[13] & ~0b00011100 | min(hop_limit, frame.header.hop_start) << 2
    forged[17], forged[18], forged[19:23] = next_hop, relay, tag
    assume(bytes(forged) != genuine)
    with pytest.raises(ForgedFrame):
        open_frame(bytes(forged), KEY)


@settings(deadline=None)
@given(frames_, st.data())
def test_truncation_is_rejected(frame, data):
    raw = seal(frame, KEY)
    cut = data.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(FrameError):
        open_frame(raw[:cut], KEY)


@settings(deadline=None)
@given(frames_)
def test_wrong_key_is_rejected(frame):
    raw = seal(frame, KEY)
    with pytest.raises(ForeignNetwork):
        open_frame(raw, OTHER)
    # Even an attacker who copies our network id hash cannot get past authentication.
    impostor = NetworkKey(OTHER.aead_key, KEY.network_id)
    with pytest.raises(ForgedFrame):
        open_frame(raw, impostor)


@given(st.binary(max_size=300))
@settings(max_examples=500, deadline=None)
def test_random_bytes_never_crash(raw):
    with contextlib.suppress(FrameError):
        open_frame(raw, KEY)


def test_header_is_little_endian_and_readable_before_decryption():
    raw = make_frame(KEY, source=0x11223344, destination=0xAABBCCDD, packet_id=0x01020304)
    assert raw[1:5] == bytes.fromhex("ddccbbaa")
    assert raw[5:9] == bytes.fromhex("44332211")
    assert raw[9:13] == bytes.fromhex("04030201")
    assert HEADER_BYTES == 23
    header = parse_header(raw)
    assert header.kind is Kind.SMS_RELAY and header.network == KEY.network_id


def test_relays_rewrite_mutable_fields_with_the_key():
    raw = make_frame(KEY, hop_limit=3)
    relayed = reroute(raw, 2, 0x42, 0x17, KEY)
    opened = open_frame(relayed, KEY)
    assert (opened.header.hop_limit, opened.header.next_hop, opened.header.relay) == (2, 0x42, 0x17)
    assert opened.body == open_frame(raw, KEY).body
    assert relayed[19:23] != raw[19:23]
    impostor = NetworkKey(OTHER.aead_key, KEY.network_id)
    with pytest.raises(ForgedFrame, match="relay fields"):
        open_frame(reroute(raw, 2, 0x42, 0x17, impostor), KEY)


def test_limits():
    header = Header(Kind.ALERT, frames.BROADCAST, 5, 1, 3, 3, False, Priority.EMERGENCY, KEY.network_id)
    assert len(seal(Frame(header, 1, 0, 1, bytes(MAX_BODY)), KEY)) == MAX_FRAME
    with pytest.raises(PayloadTooLarge):
        seal(Frame(header, 1, 0, 1, bytes(MAX_BODY + 1)), KEY)
    with pytest.raises(MalformedFrame, match="exceeds"):
        parse_header(bytes(256))


def test_reserved_and_inconsistent_headers_are_malformed():
    raw = bytearray(make_frame(KEY))
    bad_version = bytes([0x10 | raw[0] & 0x0F]) + bytes(raw[1:])  # version 1: no hop tag
    with pytest.raises(MalformedFrame, match="version 1, expected 2"):
        parse_header(bad_version)
    zero_source = bytes(raw[:5]) + bytes(4) + bytes(raw[9:])
    with pytest.raises(MalformedFrame, match="reserved"):
        parse_header(zero_source)
    raw[13] = (raw[13] & 0x03) | (1 << 5) | (5 << 2)  # hop start 1, hop limit 5
    with pytest.raises(MalformedFrame, match="hop limit"):
        parse_header(bytes(raw))


def test_associated_data_masks_exactly_the_relay_fields():
    aad = frames.associated_data(bytes([0xFF]) * HEADER_BYTES)
    expected = bytearray([0xFF]) * HEADER_BYTES
    expected[13] = 0xFF & ~0b00011100  # hop limit: bits 4..2 of the flags byte
    expected[17] = expected[18] = 0  # next hop, relay
    expected[19:23] = bytes(4)  # hop tag
    assert aad == bytes(expected)


# Sealed by the code before Priority became one enum (the mesh then had its own, higher = more urgent): the
# frames on air must not change, and old frames must open the same.
OLD_FRAMES = {
    Priority.BACKGROUND: "22020000e5010000e54d0000006a000d550201eb9e9c405b64a894f6f431cc149659a5854c6efab3f28d175c94b"
                         "38c87d8969414c269f8c0be9f4f0ea530e36c4c",
    Priority.ROUTINE: "22020000e5010000e54d0000006a010d5502018203a2aa5b64a894f6f431cc149659a5854c6efab3f28d175c94b"
                      "38c87d8969414c269f8c0beaaf4ee24a6238da2",
    Priority.EMERGENCY: "22020000e5010000e54d0000006a020d550201f2fa6d245b64a894f6f431cc149659a5854c6efab3f28d175c94b"
                        "38c87d8969414c269f8c0be196ebf4f74aef1f7",
}
SENT_AS = {Priority.LIFE_THREATENING: Priority.EMERGENCY, Priority.EMERGENCY: Priority.EMERGENCY,
           Priority.COMMAND: Priority.ROUTINE, Priority.ROUTINE: Priority.ROUTINE,
           Priority.BROADCAST: Priority.BACKGROUND, Priority.BACKGROUND: Priority.BACKGROUND}


def relay_frame(priority: Priority) -> Frame:
    header = Header(Kind.SMS_RELAY, 0xE5000002, 0xE5000001, 77, 2, 3, True, priority, KEY.network_id, 0x02, 0x01)
    return Frame(header, 9, 0, 1, b"+254700000000 boat on its way")


@pytest.mark.parametrize("priority", list(Priority))
def test_every_priority_goes_on_air_as_before(priority):
    """One Priority everywhere (lower is more urgent); on air the old classes: 0 background, 1 routine,
    2 emergency, so kits running the old code and this one understand each other."""
    raw = seal(relay_frame(priority), KEY)
    assert raw.hex() == OLD_FRAMES[SENT_AS[priority]]
    assert raw[14] == {Priority.BACKGROUND: 0, Priority.ROUTINE: 1, Priority.EMERGENCY: 2}[SENT_AS[priority]]


@pytest.mark.parametrize("priority", list(OLD_FRAMES))
def test_old_frames_open_with_the_same_priority(priority):
    opened = open_frame(bytes.fromhex(OLD_FRAMES[priority]), KEY)
    assert opened.header.priority is priority
    assert opened == relay_frame(priority)


def test_an_unknown_priority_byte_is_malformed():
    raw = bytearray(bytes.fromhex(OLD_FRAMES[Priority.ROUTINE]))
    raw[14] = 3
    with pytest.raises(MalformedFrame, match="unknown priority 3"):
        parse_header(bytes(raw))
