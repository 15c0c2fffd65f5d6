"""Sending faults between the outbox and the modem, through the pty simulator and real SQLite: a late AT+CMSS
answer, a storage slot wiped under the modem, a modem unplugged for longer than the attempt budget and a disk
that fills right after a send. Every reply leaves, and no part leaves twice."""

from __future__ import annotations

import time

import pytest

from evy.pipeline.kit import SimulatedKit, join_replies
from evy.sms.simulator import ModemSimulator
from evy.store import Store

pytestmark = pytest.mark.timeout(90)

PHONE = "+254711000111"
NO_LLM = 'country = "KE"\n[brain]\nfollowup = false\n[outbox]\nbackoff = 0.2\n'


def parts_sent(sim: ModemSimulator) -> list[tuple[str, int]]:
    return [(p.submit.recipient, p.submit.concat.seq if p.submit.concat else 1) for p in sim.sent]


def settle(sim: ModemSimulator, seconds: float = 1.5) -> list:
    time.sleep(seconds)  # anything extra (a duplicate) would leave now
    return join_replies(list(sim.sent))


def outbox_settled(store, timeout: float = 15.0) -> list[tuple]:
    """(state, attempts) of every reply, once none is queued any more."""
    deadline = time.monotonic() + timeout
    while True:
        rows = [tuple(r) for r in store.db.execute("SELECT state, attempts FROM outbox ORDER BY id")]
        if all(state != "queued" for state, _ in rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def test_a_late_cmss_answer_is_not_taken_for_a_failure_to_send_again():
    sim = ModemSimulator()
    sim.slow_next(2.0, command="CMSS")  # the part leaves at once; its +CMSS comes after send_timeout
    with SimulatedKit(NO_LLM, sim=sim, modem__send_timeout=1.0, outbox__modem_hold=0.5) as kit:
        kit.sim.deliver(PHONE, "help, the bridge is gone")
        kit.replies(1, timeout=20)
        assert outbox_settled(kit.store) == [("sent", 0)], "recorded as sent, no attempt spent"
        [reply] = settle(sim)
        assert reply.complete and len(parts_sent(sim)) == len(set(parts_sent(sim))), parts_sent(sim)


def test_a_slot_wiped_under_the_modem_is_written_again_and_the_rest_of_the_reply_follows():
    sim = ModemSimulator()
    sim.wipe_slot_on_next_send()  # the first AT+CMSS answers CMS 321 "invalid memory index"
    with SimulatedKit(NO_LLM, sim=sim) as kit:
        kit.sim.deliver(PHONE, "we are trapped on the roof of the school with the children " * 3)
        [reply] = kit.replies(1, timeout=20)
        [reply] = settle(sim)
        assert reply.complete and reply.segments == len(sim.sent), "every part left, once"
        assert kit.store.db.execute("SELECT state FROM outbox").fetchone()[0] == "sent"






@pytest.mark.slow
def test_a_disk_that_fills_right_after_a_send_never_sends_that_part_again(tmp_path, small_partition, fill_disk,
                                                                         agents):
    sim = ModemSimulator().start()
    ballast = small_partition / "ballast"

    def fill_the_disk(sent) -> None:  # between AT+CMSS and the agent recording it
        sim.on_sent = None
        fill_disk(ballast)

    config = tmp_path / "evy.toml"
    config.write_text(f'country = "KE"\ndata_dir = "{small_partition}"\n[modem]\nport = "{sim.port}"\n'
                      "[brain]\nfollowup = false\n")
    agent = agents.start(config, stdout=None)
    try:
        sim.deliver("+254722000333", "are you there")  # the agent is up and serving (past its start-up)
        sim.wait_sent(1, timeout=30)
        time.sleep(0.5)
        sim.sent.clear()
        sim.on_sent = fill_the_disk
        sim.deliver(PHONE, "help, the river took the road")
        deadline = time.monotonic() + 30
        while not ballast.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(8.0)  # the store stays full: the agent retries recording, with backoff
        assert agent.poll() is None, f"the agent keeps running: {agent.stderr.read() if agent.poll() else ''}"
        assert len(sim.sent) == 1, f"the part was sent {len(sim.sent)} times while the disk was full"
        ballast.unlink()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not all(r.complete for r in join_replies(list(sim.sent)) or [None]):
            time.sleep(0.1)
        with Store.open(small_partition / "evy.db") as store:
            assert outbox_settled(store, timeout=60) == [("sent", 0), ("sent", 0)]
        [reply] = settle(sim, 1.0)
        assert reply.complete and len(parts_sent(sim)) == len(set(parts_sent(sim))), parts_sent(sim)
    finally:
        agents.stop(agent, 15)
        sim.stop()


def test_sent_parts_left_in_storage_by_an_earlier_run_are_freed_at_start():
    from evy.sms import pdu

    sim = ModemSimulator(storage_size=5)
    left = [sim.store(pdu.encode_submit(PHONE, f"an old reply {n}")[0].hex, stat=3) for n in range(3)]
    with SimulatedKit(NO_LLM, sim=sim) as kit:
        assert not set(left) & set(sim.stored), "slots of sent parts do not fill the SIM for ever"
        kit.sim.deliver(PHONE, "help")
        assert kit.replies(1)[0].recipient == PHONE
    assert sim.sent and all(p.submit.text != "an old reply 0" for p in sim.sent), "nothing old was sent"


def test_a_late_cmgw_answer_leaves_no_copy_behind_in_storage():
    """The part is stored, but its +CMGW comes after the timeout: written again, the first copy is an
    unrecorded STO UNSENT slot; left there, every such fault would take a slot until the SIM is full and the
    network holds all incoming messages back."""
    sim = ModemSimulator()
    sim.slow_next(1.5, command="CMGW")
    with SimulatedKit(NO_LLM, sim=sim, modem__command_timeout=0.5, outbox__modem_hold=0.5) as kit:
        kit.sim.deliver(PHONE, "help, the bridge is gone")
        kit.replies(1, timeout=20)
        assert outbox_settled(kit.store) == [("sent", 0)]
        [reply] = settle(sim)
        assert reply.complete and len(parts_sent(sim)) == len(set(parts_sent(sim)))
        assert not [n for n, slot in sim.storage.items() if slot.stat in (2, 3)], sim.stored
