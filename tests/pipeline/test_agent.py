"""The whole pipeline through a real pty: simulated SIM800 → AT driver → store → guards → responder → outbox."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from evy.pipeline.kit import SimulatedKit, join_replies
from evy.sms.simulator import ModemSimulator

PHONE = "+254711000111"
pytestmark = pytest.mark.timeout(60)


def settle(kit, seconds=0.5):
    """Give the agent time to (not) react; the whole replies sent so far."""
    time.sleep(seconds)
    return join_replies(kit.sim.sent)


# The default (brain) responder without the model: these tests are about the pipeline, not the follow-ups.
NO_LLM = "\n[brain]\nfollowup = false\n"


@pytest.fixture
def kit():
    with SimulatedKit('country = "KE"' + NO_LLM) as kit:
        yield kit


def test_a_message_gets_one_reply_naming_the_local_number(kit):
    kit.sim.deliver(PHONE, "help please water rising fast")
    [reply] = kit.replies(1)
    assert reply.recipient == PHONE and "999" in reply.text and reply.encoding == "gsm7"
    assert any(c.startswith("AT+CMSS=") for c in kit.sim.commands), "replies leave through stored sending"
    settle(kit)
    assert not kit.sim.storage, "received and sent slots are freed"
    rows = kit.store.db.execute("SELECT state FROM messages").fetchall()
    assert [r[0] for r in rows] == ["handled"]


def test_no_country_means_112():
    with SimulatedKit(NO_LLM) as kit:
        kit.sim.deliver(PHONE, "help")
        assert "112" in kit.replies(1)[0].text


def test_multipart_out_of_order_with_duplicate_is_answered_once(kit):
    text = "my mother fell down the stairs and cannot move her leg, she is 80 years old " * 5
    kit.sim.deliver(PHONE, text, order=[2, 1, 3], duplicate=[1])
    kit.replies(1)
    assert len(settle(kit)) == 1
    [(stored,)] = kit.store.db.execute("SELECT text FROM messages").fetchall()
    assert stored == text


def test_missing_part_is_answered_after_the_timeout():
    with SimulatedKit('country = "KE"\n[store]\nmultipart_timeout = 1.0' + NO_LLM) as kit:
        kit.sim.deliver(PHONE, "trapped under rubble " * 12, missing=[2])
        assert kit.replies(1, timeout=10)
        [(text, incomplete)] = kit.store.db.execute("SELECT text, incomplete FROM messages").fetchall()
        assert incomplete == 1 and text.startswith("trapped under rubble")


def test_non_latin_messages_are_stored_intact(kit):
    for text in ("Помогите, пожар на третьем этаже", "النجدة فيضان", "救命 地震 🙏"):
        kit.sim.deliver(PHONE, text)
    kit.replies(3)
    stored = [r[0] for r in kit.store.db.execute("SELECT text FROM messages ORDER BY id")]
    assert stored == ["Помогите, пожар на третьем этаже", "النجدة فيضان", "救命 地震 🙏"]


def test_stop_gets_only_the_confirmation_and_start_resumes(kit):
    kit.sim.deliver(PHONE, "STOP")
    [confirmation] = kit.replies(1)
    assert "no more messages" in confirmation.text
    kit.sim.deliver(PHONE, "help there is a fire")
    assert len(settle(kit)) == 1
    kit.sim.deliver(PHONE, "start")
    replies = kit.replies(2)
    assert "resumed" in replies[1].text and "999" in replies[1].text


def test_ignored_senders_get_nothing():
    with SimulatedKit('country = "KE"\nown_number = "+254700999888"' + NO_LLM) as kit:
        for sender in ("+254700999888", "MPESA", "40404"):
            kit.sim.deliver(sender, "Your balance is low")
        kit.sim.deliver(PHONE, "hello")
        kit.replies(1)
        assert [r.recipient for r in kit.replies(1)] == [PHONE]
        assert len(settle(kit)) == 1
        verdicts = sorted(r[0] for r in kit.store.db.execute("SELECT verdict FROM messages"))
        assert verdicts == ["answered", "ignored: alphanumeric sender", "ignored: own number",
                            "ignored: short code"]


def test_operator_bounce_loop_is_broken(kit):
    start = datetime.now(UTC).replace(microsecond=0)
    for n in range(5):
        kit.sim.deliver("+254722000000", "Message delivery failed", timestamp=start + timedelta(seconds=n))
    settle(kit, 1.0)
    replies = join_replies(kit.sim.sent)
    assert len(replies) == 2 and all(r.complete for r in replies)
    verdicts = [r[0] for r in kit.store.db.execute("SELECT verdict FROM messages ORDER BY id")]
    assert verdicts == ["answered", "answered", "ignored: reply loop", "ignored: reply loop", "ignored: reply loop"]


def test_transient_send_error_is_retried_without_blocking_others():
    with SimulatedKit('country = "KE"\n[outbox]\nbackoff = 0.2' + NO_LLM) as kit:
        kit.sim.fail_next("CMSS", cms=500)
        kit.sim.deliver(PHONE, "first")
        kit.sim.deliver("+254722333444", "second")
        replies = kit.replies(2, timeout=15)
        assert {r.recipient for r in replies} == {PHONE, "+254722333444"}
        attempts = [r[0] for r in kit.store.db.execute("SELECT attempts FROM outbox ORDER BY id")]
        assert sorted(attempts) == [0, 1]


def test_not_registered_holds_replies_until_the_network_returns():
    from evy.sms.simulator import deliver_parts

    sim = ModemSimulator(registered=False).start()
    for _, pdu in deliver_parts(PHONE, "help"):
        sim.store(pdu)  # arrived before coverage was lost
    with SimulatedKit('country = "KE"' + NO_LLM, sim=sim) as kit:
        time.sleep(1.0)
        assert not sim.sent
        held = kit.store.db.execute("SELECT attempts, last_error FROM outbox").fetchone()
        assert held[0] == 0 and "331" in held[1]
        kit.store.db.execute("UPDATE outbox SET next_attempt = 0")  # skip the 30 s network hold
        sim.set_registered(True)
        assert kit.replies(1, timeout=10)


def test_modem_reboot_mid_send_sends_once():
    sim = ModemSimulator()
    with SimulatedKit('country = "KE"\n[outbox]\nbackoff = 0.2' + NO_LLM, sim=sim) as kit:
        sim.reboot_on_next_send()
        sim.deliver(PHONE, "help")
        kit.replies(1, timeout=20)
        assert sim.reboots == 1
        settle(kit, 1.0)
        [reply] = join_replies(sim.sent)
        assert reply.complete and reply.segments == len(sim.sent), "every part left exactly once"


def test_garbage_on_the_line_loses_nothing(kit):
    kit.sim.inject_noise(size=64)
    kit.sim.deliver(PHONE, "fire in the market")
    kit.sim.inject_noise(size=64)
    assert kit.replies(1)[0].recipient == PHONE


def test_emergency_reply_leaves_before_routine_ones(kit):
    kit.agent.stop()  # pause the loop: queue both, then let one flush decide the order
    time.sleep(0.2)
    from evy.messages import Inbound, Priority, Reply

    now = __import__("datetime").datetime.now()
    for n, (sender, priority) in enumerate((("+254700000001", Priority.ROUTINE),
                                            ("+254700000002", Priority.LIFE_THREATENING))):
        with kit.store.transaction() as db:
            db.execute("INSERT INTO messages(id, sender, text, encoding, received_at) VALUES (?, ?, 'x', 'gsm7', 0)",
                       (100 + n, sender))
        kit.agent.queue_reply(Inbound(100 + n, sender, "x", now), Reply("ok", priority=priority), kind="reply")
    kit.agent.sender.flush()
    assert [p.submit.recipient for p in kit.sim.sent] == ["+254700000002", "+254700000001"]


def test_delivery_reports_are_stored_per_part(kit):
    kit.sim.deliver(PHONE, "help")
    kit.replies(1)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        delivered = kit.store.db.execute("SELECT COUNT(*) FROM outbox_parts WHERE report_status = 0").fetchone()[0]
        if delivered == len(kit.sim.sent):
            break
        time.sleep(0.05)
    assert delivered == len(kit.sim.sent)


def test_backlog_on_the_sim_is_answered_at_start():
    from evy.sms.simulator import deliver_parts

    sim = ModemSimulator().start()
    for _, pdu in deliver_parts(PHONE, "sent while the kit was off"):
        sim.store(pdu)
    with SimulatedKit('country = "KE"' + NO_LLM, sim=sim) as kit:
        assert kit.replies(1)[0].recipient == PHONE
        assert not sim.storage


def test_undecodable_message_is_kept_raw_and_removed_from_the_sim(kit):
    from evy.sms.simulator import deliver_parts

    [(_, whole)] = deliver_parts(PHONE, "this one is cut short on the air")
    broken = whole[:-8]  # the user data length promises more than is there
    kit.sim.deliver_pdu(broken)
    kit.sim.deliver(PHONE, "help")
    assert kit.replies(1)[0].recipient == PHONE
    settle(kit)
    [(pdu, reason)] = kit.store.db.execute("SELECT pdu, reason FROM unreadable").fetchall()
    assert pdu == broken.upper() and "does not decode" in reason
    assert not kit.sim.storage


def test_backlog_with_an_undecodable_message_keeps_it_raw():
    from evy.sms.simulator import deliver_parts

    sim = ModemSimulator().start()
    sim.store("07915274220000000400")
    for _, pdu in deliver_parts(PHONE, "after the broken one"):
        sim.store(pdu)
    with SimulatedKit('country = "KE"' + NO_LLM, sim=sim) as kit:
        assert kit.replies(1)[0].recipient == PHONE
        settle(kit)
        assert kit.store.db.execute("SELECT COUNT(*) FROM unreadable").fetchone()[0] == 1
        assert not sim.storage


class SlowSecondOpinion:
    """A responder whose follow-up arrives later, from another thread, as the brain's RAG/LLM one does."""

    def __init__(self, delay: float, fail: bool = False):
        self.delay, self.fail = delay, fail

    def respond(self, message, triaged=None):
        from evy.messages import Reply

        return Reply("First steps: call 999.", wants_followup=True)

    def follow_up(self, message, first, deadline, triaged=None):
        from evy.messages import Reply

        time.sleep(self.delay)
        if self.fail:
            raise RuntimeError("model worker died")
        return Reply(f"More detail for: {message.text}")

    def warm(self):
        pass

    def close(self):
        pass


def test_follow_up_is_sent_after_the_first_reply():
    with SimulatedKit('country = "KE"', engine=SlowSecondOpinion(0.3)) as kit:
        kit.sim.deliver(PHONE, "how do I splint an arm")
        first, second = kit.replies(2)
        assert first.text == "First steps: call 999." and second.text == "More detail for: how do I splint an arm"
        kinds = [r[0] for r in kit.store.db.execute("SELECT kind FROM outbox ORDER BY id")]
        assert kinds == ["reply", "followup"]


def test_a_failing_follow_up_leaves_the_first_reply_standing():
    with SimulatedKit('country = "KE"', engine=SlowSecondOpinion(0.1, fail=True)) as kit:
        kit.sim.deliver(PHONE, "how do I splint an arm")
        assert kit.replies(1)[0].text == "First steps: call 999."
        assert len(settle(kit, 0.8)) == 1


def test_a_message_whose_indication_was_lost_is_still_answered():
    with SimulatedKit('country = "KE"' + NO_LLM, modem__sweep_interval=1.0) as kit:  # heartbeat stays 30 s
        kit.sim.lose_urcs(1)
        kit.sim.deliver(PHONE, "my +CMTI never came")
        assert kit.replies(1, timeout=10)[0].recipient == PHONE
        settle(kit)
        assert not kit.sim.storage


def test_a_follow_up_is_dropped_once_the_sender_has_written_again():
    """A follow-up still being worked on when the sender writes again would answer a conversation that
    has moved on (CPR detail after "he is breathing now"); it is dropped, the newer message gets its own."""
    with SimulatedKit('country = "KE"', engine=SlowSecondOpinion(1.0)) as kit:
        kit.sim.deliver(PHONE, "how do I splint an arm")
        kit.replies(1)
        kit.sim.deliver(PHONE, "and how do I clean a small cut")
        kit.replies(3, timeout=15)
        texts = [reply.text for reply in settle(kit, 2.5)]
        assert "More detail for: and how do I clean a small cut" in texts
        assert "More detail for: how do I splint an arm" not in texts
