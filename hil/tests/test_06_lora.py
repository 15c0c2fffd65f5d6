"""LoRa between two kits on one rig: a message sent by one is received, authenticated, by the other.

On a rig the kits use their SX1276 HATs; two QEMU guests have no radio and use the agents' UDP radio twin on
a virtual cable between them (the env file's ``lora_twin_link``). The steps live in evyhil.lora and run in CI
too, on two local kits over the UDP radio twin (hil/tests/unit/test_lora_link.py).
"""

import pytest

pytestmark = pytest.mark.hil


def test_frame_from_one_kit_is_authenticated_by_the_other(env, kit, options, figures):
    if options.lora:
        pytest.skip(options.lora)
    peer_target = env.get_target("peer")
    if peer_target is None:
        pytest.skip("this rig has one kit: LoRa needs a second target named 'peer' in the env file")
    from evyhil.kit import Kit
    from evyhil.lora import LoraEnd, TwinLink, check_link
    from evyhil.strategy import FlashStrategy

    peer = Kit(peer_target.get_driver(FlashStrategy), options)
    peer.boot()
    twin = TwinLink.parse(options.lora_twin_link) if options.lora_twin_link else None
    # As the agent's user, so the node's state files stay the agent's; the agent holds the radio, so it
    # stops for the check and starts again after.
    ends = [LoraEnd(k, evy=f"runuser -u {options.agent_user} -- evy", agent_unit=options.agent_unit,
                    radio_args=twin.connect(k, index) if twin else "")
            for index, k in enumerate((kit, peer))]
    result = check_link(*ends, "hil lora check", timeout=120)
    figures["lora_link"] = {"from": result.sender_node, "to": result.receiver_node, **result.sent}
    assert result.received["body"]["text"] == "hil lora check"
