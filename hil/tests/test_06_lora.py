"""LoRa between two kits on one rig: a frame sent by one is received and authenticated by the other."""

import shlex

import pytest

pytestmark = pytest.mark.hil


def test_frame_from_one_kit_is_authenticated_by_the_other(env, kit, options):
    if options.lora:
        pytest.skip(options.lora)
    peer_target = env.get_target("peer")
    if peer_target is None:
        pytest.skip("this rig has one kit: LoRa needs a second target named 'peer' in the env file")
    from evyhil.kit import Kit
    from evyhil.strategy import FlashStrategy

    peer = Kit(peer_target.get_driver(FlashStrategy), options)
    peer.boot()
    text = "hil lora check"
    peer.run("systemd-run --unit evy-hil-listen evy mesh listen --count 1 --timeout 120 --json "
             "--output /run/evy-hil-lora.json")
    kit.run(f"evy mesh send --to {shlex.quote(peer.run('hostname').strip())} {shlex.quote(text)}")
    received = peer.run("sh -c 'while systemctl -q is-active evy-hil-listen; do sleep 1; done; "
                        "cat /run/evy-hil-lora.json'", timeout=150)
    assert text in received and '"authenticated": true' in received, received
