"""Building a field node from the agent configuration."""

from __future__ import annotations

import asyncio
import json

import pytest

from evy.config import parse
from evy.mesh.errors import KeyFileError, MeshError
from evy.mesh.radio.sx1276 import SX1276Radio
from evy.mesh.radio.sx1276_fake import FakeSX1276
from evy.mesh.service import make_radio, modulation_from, open_node


def config_for(tmp_path, key_file=None, **mesh):
    values = {"radio": "udp", "udp_bind": "127.0.0.1:0", "udp_peers": ["127.0.0.1:9"], **mesh}
    if key_file is not None:
        values["key_file"] = str(key_file)
    lines = [f"data_dir = {json.dumps(str(tmp_path))}", "[mesh]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    return parse("\n".join(lines))


def test_refuses_to_join_without_a_key(tmp_path):
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(KeyFileError, match="refusing to join"):
            open_node(config_for(tmp_path), loop)
    finally:
        loop.close()


def test_node_id_is_kept_across_restarts(tmp_path, key_file):
    async def start_and_stop():
        node = open_node(config_for(tmp_path, key_file), asyncio.get_running_loop())
        node.stop()
        return node.node_id

    first = asyncio.run(start_and_stop())
    assert asyncio.run(start_and_stop()) == first and first & 0xFF != 0
    assert (tmp_path / "mesh" / "state.json").exists()


def test_configured_node_id_and_radio_settings(tmp_path, key_file):
    async def main():
        config = config_for(tmp_path, key_file, node_id="e50000a1", spreading_factor=7, hop_limit=5)
        node = open_node(config, asyncio.get_running_loop())
        node.stop()
        return node

    node = asyncio.run(main())
    assert node.node_id == 0xE50000A1 and node.params.hop_limit == 5
    assert node.radio.modulation.spreading_factor == 7
    assert node.ledger.band.duty_cycle == 0.10  # EU868 869.525 MHz


def test_dwell_time_rule_refuses_slow_settings(tmp_path, key_file):
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(MeshError, match="dwell time"):
            open_node(config_for(tmp_path, key_file, region="US915", frequency=915.0), loop)
    finally:
        loop.close()
    fast = config_for(tmp_path, key_file, region="US915", frequency=915.0, bandwidth_khz="500")
    assert modulation_from(fast).time_on_air(255) < 0.4


def test_sx1276_frames_are_handed_to_the_event_loop(tmp_path):
    loop = asyncio.new_event_loop()
    try:
        radio = make_radio(config_for(tmp_path, radio="sx1276"), loop)
        assert isinstance(radio, SX1276Radio)
        fake = FakeSX1276()
        radio._ports, radio._irq_thread = fake.ports, False
        got = []
        radio.open(lambda frame, rssi, snr: got.append(frame))
        fake.inject(b"from the air")
        radio.poll()
        assert got == []  # not on the interrupt thread …
        loop.run_until_complete(asyncio.sleep(0))
        assert got == [b"from the air"]  # … but on the loop
        radio.close()
    finally:
        loop.close()
