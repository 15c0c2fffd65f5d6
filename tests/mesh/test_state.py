from evy.mesh.state import COUNTER_BLOCK, WINDOW, Freshness, NodeState, ReplayWindow


def test_replay_window_accepts_reordering_and_rejects_repeats_and_stale_ids():
    window = ReplayWindow()
    for packet_id in (10, 12, 11, 75):
        assert window.freshness(packet_id) is Freshness.NEW
        window.accept(packet_id)
    assert window.freshness(12) is Freshness.SEEN
    assert window.freshness(11) is Freshness.TOO_OLD  # 75 - 11 = 64 ≥ WINDOW
    assert window.freshness(74) is Freshness.NEW
    window.accept(75 + WINDOW * 3)
    assert window.freshness(75) is Freshness.TOO_OLD


def test_state_survives_a_restart(tmp_path):
    path = tmp_path / "state.json"
    state = NodeState(path, dup_cache_size=4)
    ids = [state.next_packet_id() for _ in range(3)]
    for packet_id in range(1, 10):
        state.remember(0xAB, packet_id)
    state.mark_delivered(0xAB, 5, 0)
    state.node_id = 0xE5000001
    state.save()

    again = NodeState(path, dup_cache_size=4)
    assert again.node_id == 0xE5000001
    assert again.freshness(0xAB, 5) is Freshness.SEEN
    assert again.is_duplicate(0xAB, 9) and not again.is_duplicate(0xAB, 5)  # evicted from the cache
    assert again.was_delivered(0xAB, 5, 0)
    # Packet ids never repeat across a restart (the CCM nonce depends on it).
    assert again.next_packet_id() > max(ids)
    assert again.next_packet_id() >= COUNTER_BLOCK


def test_counter_floor_from_the_wall_clock_moves_past_a_lost_state(tmp_path):
    early = NodeState.open(None, wall_clock=1_800_000_000)
    late = NodeState.open(None, wall_clock=1_800_000_100)
    assert late.next_packet_id() >= early.next_packet_id() + 400


def test_unreadable_state_refuses_to_start_blank(tmp_path):
    import pytest

    from evy.mesh.errors import MeshError

    path = tmp_path / "state.json"
    path.write_text("{broken")
    with pytest.raises(MeshError, match="move it aside"):
        NodeState(path)
