"""The Meshtastic gateway end to end: the real `meshtastic` library drives the twin node on a real pty, the
agent answers through the same store, guards and responder as SMS."""

from __future__ import annotations

import re
import time

import pytest

pytest.importorskip("meshtastic")

from evy.meshtastic.split import join_parts
from evy.meshtastic.twin import MeshtasticTwin
from evy.pipeline.kit import SimulatedKit
from evy.store import Store

pytestmark = pytest.mark.timeout(90)

ALICE = 0xA1B2C3D4
BOB = 0xB0B0B0B0
NO_LLM = 'country = "KE"\n[brain]\nfollowup = false\n'


def meshtastic_config(twin: MeshtasticTwin, extra: str = "") -> str:
    return NO_LLM + f'[meshtastic]\nenabled = true\nport = "{twin.port}"\nack_timeout = 5.0\n{extra}'


@pytest.fixture
def twin():
    with MeshtasticTwin() as twin:
        twin.add_node(ALICE, "Alice")
        twin.add_node(BOB, "Bob")
        yield twin


def attached(kit: SimulatedKit, timeout: float = 15.0) -> SimulatedKit:
    deadline = time.monotonic() + timeout
    while not kit.agent.meshtastic.connected:
        assert time.monotonic() < deadline, f"the gateway never attached: {kit.agent.meshtastic.last_error}"
        time.sleep(0.05)
    return kit


def answer_to(twin: MeshtasticTwin, node: int, count: int = 1) -> str:
    """Wait until ``count`` whole replies reached ``node``; the last one, its parts joined."""
    def whole() -> list[str]:
        parts = twin.texts_to(node)
        done, current = [], []
        for part in parts:
            current.append(part)
            match = re.match(r"^\((\d+)/(\d+)\) ", part)
            if match is None or match.group(1) == match.group(2):
                done.append(join_parts(current))
                current = []
        return done
    twin.wait_for(lambda: len(whole()) >= count)
    return whole()[-1]


def quiet(seconds: float = 1.0) -> None:
    time.sleep(seconds)


def test_a_direct_message_is_answered_once_by_direct_message_with_want_ack(twin):
    with SimulatedKit(meshtastic_config(twin)) as kit:
        attached(kit)
        twin.direct(ALICE, "help the water is rising fast")
        reply = answer_to(twin, ALICE)
        quiet()
        assert "999" in reply and join_parts(twin.texts_to(ALICE)) == reply, "each part shown once"
        assert all(p.want_ack and p.to == "!a1b2c3d4" for p in twin.sent)
        assert not kit.sim.sent, "nothing went out by SMS"
        [(sender, state)] = kit.store.db.execute("SELECT sender, state FROM messages").fetchall()
        assert (sender, state) == ("!a1b2c3d4", "handled")
        [(state,)] = kit.store.db.execute("SELECT state FROM outbox").fetchall()
        assert state == "sent", "closed on the recipient's ACK"


def test_a_channel_message_is_answered_by_direct_message_and_its_command_word_is_not_obeyed(twin):
    with SimulatedKit(meshtastic_config(twin)) as kit:
        attached(kit)
        twin.channel(BOB, "STOP")  # anyone with the channel key could claim to be Bob
        answer_to(twin, BOB)
        assert all(p.to == "!b0b0b0b0" and p.channel == 0 for p in twin.sent), "never an answer to everyone"
        [(verdict,)] = kit.store.db.execute("SELECT verdict FROM messages").fetchall()
        assert not verdict.startswith("command"), verdict
        assert not kit.store.db.execute("SELECT * FROM optouts").fetchall(), "a channel never opts anyone out"


def test_a_channel_other_than_the_kits_is_not_read(twin):
    with SimulatedKit(meshtastic_config(twin)) as kit:
        attached(kit)
        twin.channel(BOB, "help fire", channel=2)
        quiet(1.5)
        assert not twin.sent and not kit.store.db.execute("SELECT * FROM messages").fetchall()


def test_stop_is_obeyed_only_from_a_pki_direct_message_and_help_from_any(twin):
    with SimulatedKit(meshtastic_config(twin)) as kit:
        attached(kit)
        twin.direct(ALICE, "STOP", pki=False)  # the firmware's channel-key fallback: the sender is not proven
        answer_to(twin, ALICE)
        assert not kit.store.db.execute("SELECT * FROM optouts").fetchall()
        twin.direct(BOB, "HELP", pki=False)
        assert answer_to(twin, BOB)
        twin.direct(ALICE, "STOP", pki=True)
        answer_to(twin, ALICE, count=2)
        quiet()
        [(sender,)] = kit.store.db.execute("SELECT sender FROM optouts").fetchall()
        assert sender == "!a1b2c3d4"
        verdicts = [row[0] for row in kit.store.db.execute("SELECT verdict FROM messages ORDER BY id")]
        assert verdicts[1:] == ["command: help", "command: stop"] and not verdicts[0].startswith("command")


def test_an_oversize_reply_is_split_into_numbered_parts_that_fit(twin):
    with SimulatedKit(meshtastic_config(twin, "max_text_bytes = 60\n")) as kit:
        attached(kit)
        twin.direct(ALICE, "help my child is not breathing")
        reply = answer_to(twin, ALICE)
        parts = twin.texts_to(ALICE)
        assert len(parts) >= 3 and all(len(p.encode()) <= 60 for p in parts)
        assert [p.split(")")[0] for p in parts] == [f"({i}/{len(parts)}" for i in range(1, len(parts) + 1)]
        [(queued,)] = kit.store.db.execute("SELECT text FROM outbox").fetchall()
        assert reply == queued


def test_a_node_reset_mid_reply_loses_nothing_and_shows_each_part_once(twin):
    with SimulatedKit(meshtastic_config(twin, "max_text_bytes = 80\n")) as kit:
        attached(kit)
        twin.hold_acks = True  # the first part is handed over, then the node resets before it goes out
        twin.direct(ALICE, "help the water is rising fast")
        twin.wait_for(lambda: twin.sent)
        twin.reboot()
        twin.hold_acks = False
        reply = answer_to(twin, ALICE)
        quiet()
        assert twin.configs >= 2, "the kit attached again after the reset"
        assert join_parts(twin.texts_to(ALICE)) == reply
        [(state,)] = kit.store.db.execute("SELECT state FROM outbox").fetchall()
        assert state == "sent"


def test_an_unplugged_node_holds_the_reply_until_it_is_back(twin):
    with SimulatedKit(meshtastic_config(twin, "max_text_bytes = 80\nreconnect_max = 1.0\n")) as kit:
        attached(kit)
        twin.ack_delay = 0.5
        twin.direct(ALICE, "help the water is rising fast")
        twin.wait_for(lambda: twin.sent)
        twin.unplug()
        quiet(2.0)
        assert not kit.agent.meshtastic.connected and kit.error is None, "the agent runs on without its node"
        [(state, attempts)] = kit.store.db.execute("SELECT state, attempts FROM outbox").fetchall()
        assert (state, attempts) == ("queued", 0), "waiting, no attempt spent"
        twin.plug()
        reply = answer_to(twin, ALICE)
        assert join_parts(twin.texts_to(ALICE)) == reply


def test_the_rate_limit_and_the_loop_breaker_count_per_node(twin):
    with SimulatedKit(meshtastic_config(twin) + "[guards]\nrate_limit = 2\n") as kit:
        attached(kit)
        for text in ("help fire", "the fire is near the school", "we are 5 people"):
            twin.direct(ALICE, text)
            quiet(0.3)
        twin.direct(BOB, "help fire")
        answer_to(twin, BOB)
        quiet(1.5)
        verdicts = dict(kit.store.db.execute("SELECT text, verdict FROM messages WHERE sender = '!a1b2c3d4'"))
        assert verdicts["we are 5 people"] == "ignored: rate limit"
        assert sum(v == "ignored: rate limit" for v in verdicts.values()) == 1


def test_a_broadcast_goes_to_the_kits_channel_and_a_warning_as_an_alert(twin):
    from meshtastic.protobuf import mesh_pb2, portnums_pb2

    from evy.broadcast import send as broadcast

    with SimulatedKit(meshtastic_config(twin, "channel = 1\n")) as kit:
        attached(kit)
        twin.direct(ALICE, "JOIN")  # a node's JOIN: it hears broadcasts on the channel, never by SMS
        answer_to(twin, ALICE)
        kit.sim.deliver("+254711000111", "JOIN")
        kit.replies(1)
        with Store.open(kit.data_dir / "evy.db") as store:
            broadcast.queue(store, kit.config, "Shelter open at the school until 18:00.", "subscribers")
            broadcast.queue(store, kit.config, "Flood warning: move to higher ground now.", "subscribers", alert=True)
        twin.wait_for(lambda: len([p for p in twin.delivered if p.to == "^all"]) == 2)
        on_air = [p for p in twin.delivered if p.to == "^all"]
        assert {p.channel for p in on_air} == {1}
        by_text = {p.text: p for p in on_air}
        warning = by_text["Flood warning: move to higher ground now."]
        assert warning.portnum == portnums_pb2.PortNum.ALERT_APP and warning.priority == mesh_pb2.MeshPacket.ALERT
        assert by_text["Shelter open at the school until 18:00."].portnum == portnums_pb2.PortNum.TEXT_MESSAGE_APP
        kit.replies(3, timeout=30)
        assert {r.recipient for r in kit.replies(3)} == {"+254711000111"}, "SMS only to the phone"


def test_meshtasticd_over_tcp_is_driven_the_same_way_and_a_restart_of_it_loses_nothing():
    with MeshtasticTwin(tcp=True) as twin:
        twin.add_node(ALICE, "Alice")
        extra = f'connection = "tcp"\nhost = "127.0.0.1"\ntcp_port = {twin.tcp_port}\nreconnect_max = 1.0\n'
        with SimulatedKit(NO_LLM + f"[meshtastic]\nenabled = true\n{extra}") as kit:
            attached(kit)
            twin.direct(ALICE, "help the water is rising fast")
            first = answer_to(twin, ALICE)
            twin.unplug()  # meshtasticd restarts
            twin.plug()
            twin.wait_for(lambda: twin.configs >= 2)
            twin.direct(ALICE, "we are on the roof now")
            second = answer_to(twin, ALICE, count=2)
            assert first and second and kit.error is None


def test_only_an_allow_listed_pki_node_may_broadcast_and_its_order_is_carried_out_once(twin):
    import base64

    operator_key = bytes(range(32))
    twin.add_node(0x0CAFE001, "Operator", public_key=operator_key)
    keys = f'operator_keys = ["{base64.b64encode(operator_key).decode()}"]\n'
    with SimulatedKit(meshtastic_config(twin, "channel = 1\n" + keys)) as kit:
        attached(kit)
        twin.direct(ALICE, "BROADCAST Evacuate now", pki=True)  # PKI, but not an operator's key
        answer_to(twin, ALICE)
        twin.direct(0x0CAFE001, "BROADCAST Evacuate now", pki=False)  # the operator's id, without PKI
        answer_to(twin, 0x0CAFE001)
        quiet()
        assert not [p for p in twin.sent if p.to == "^all"], "neither broadcast"
        twin.direct(0x0CAFE001, "ALERT Evacuate the river bank now", pki=True)
        confirmation = answer_to(twin, 0x0CAFE001, count=2)
        assert confirmation.startswith("Alert 1 queued"), confirmation
        twin.wait_for(lambda: [p for p in twin.delivered if p.to == "^all"])
        quiet()
        [alert] = [p for p in twin.delivered if p.to == "^all"]
        assert alert.text == "Evacuate the river bank now" and alert.channel == 1
        verdicts = [row[0] for row in kit.store.db.execute("SELECT verdict FROM messages ORDER BY id")]
        assert verdicts.count("operator command") == 1


def test_two_replies_to_one_node_arrive_whole_one_after_the_other(twin):
    with SimulatedKit(meshtastic_config(twin, "max_text_bytes = 80\n")) as kit:
        attached(kit)
        twin.ack_delay = 0.3
        twin.direct(ALICE, "help the water is rising fast")
        quiet(0.2)
        twin.direct(ALICE, "we are 5 people")
        answer_to(twin, ALICE, count=2)
        numbers = [re.match(r"^\((\d+)/(\d+)\) ", text) for text in twin.texts_to(ALICE)]
        shown = [(int(m.group(1)), int(m.group(2))) if m else (1, 1) for m in numbers]
        first, second = shown[0][1], shown[-1][1]
        in_order = [(n, first) for n in range(1, first + 1)] + [(n, second) for n in range(1, second + 1)]
        assert shown == in_order and kit.error is None


def test_a_message_the_node_received_while_unplugged_is_lost_until_the_node_gives_its_client_up(twin):
    """The firmware cannot see a USB cable go: for its connection timeout (15 minutes) it hands packets to
    the line; after that it keeps them for the next client, as the twin does here."""
    with SimulatedKit(meshtastic_config(twin, "reconnect_max = 1.0\n")) as kit:
        attached(kit)
        twin.unplug()
        lost = twin.direct(BOB, "help fire")
        assert twin.handed_over[-1] == lost and not twin.waiting
        twin.connection_timeout = 0.2  # the node's timeout runs out while the cable is still out
        quiet(0.3)
        twin.direct(ALICE, "help the water is rising fast")
        assert twin.waiting == 1, "kept for the next client"
        twin.plug()
        twin.connection_timeout = 900.0
        assert "999" in answer_to(twin, ALICE)
        assert [row[0] for row in kit.store.db.execute("SELECT sender FROM messages")] == ["!a1b2c3d4"]


def test_a_node_out_of_reach_gets_its_reply_when_back_in_reach_each_refusal_counted(twin):
    with SimulatedKit(meshtastic_config(twin) + "[outbox]\nbackoff = 0.5\nmax_backoff = 1.0\n") as kit:
        attached(kit)
        twin.others[ALICE].reachable = False  # the kit's node answers each part with a NAK (MAX_RETRANSMIT)
        twin.direct(ALICE, "help the water is rising fast")
        twin.wait_for(lambda: len(twin.sent) >= 2)
        [(attempts, error)] = kit.store.db.execute("SELECT attempts, last_error FROM outbox").fetchall()
        assert attempts >= 1 and "MAX_RETRANSMIT" in error
        twin.others[ALICE].reachable = True
        reply = answer_to(twin, ALICE)
        assert join_parts(twin.texts_to(ALICE)) == reply
