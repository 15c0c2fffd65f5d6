"""Broadcasts end to end through the pty simulator: JOIN/LEAVE/STOP by SMS, a broadcast queued from another
connection (as the console process does), delivered after every reply, at the modem's pace."""

from __future__ import annotations

import itertools
import time

import pytest

from evy.broadcast import send
from evy.pipeline.kit import SimulatedKit, join_replies
from evy.store import Store
from evy.store import broadcasts as store_broadcasts

pytestmark = pytest.mark.timeout(60)
NO_LLM = 'country = "KE"\n[brain]\nfollowup = false\n'
ALICE, BOB, CAROL = "+254711000001", "+254711000002", "+254711000003"


def texts_to(kit, number):
    return [r.text for r in join_replies(list(kit.sim.sent)) if r.recipient == number and r.complete]


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_join_leave_stop_and_a_broadcast_to_subscribers():
    with SimulatedKit(NO_LLM, broadcast__send_interval=0.1) as kit, Store.open(kit.data_dir / "evy.db") as console:
        kit.sim.deliver(ALICE, "JOIN")
        kit.sim.deliver(BOB, "Unirme")
        kit.sim.deliver(CAROL, "join")
        kit.replies(3)
        assert "LEAVE" in texts_to(kit, ALICE)[0] and "999" in texts_to(kit, ALICE)[0]
        assert "SALIR" in texts_to(kit, BOB)[0]  # confirmed in the language of the word
        kit.sim.deliver(CAROL, "STOP")  # STOP wins: no broadcast for Carol, and her JOIN is ignored after it
        kit.replies(4)
        kit.sim.deliver(CAROL, "JOIN")
        kit.sim.deliver(BOB, "salir")
        kit.replies(5)
        wait_for(lambda: kit.settled(console))
        assert store_broadcasts.subscribers(console) == [ALICE]
        cost = send.estimate(console, kit.config, "Shelter open at St Mary's school", "subscribers")
        assert (cost.recipients, cost.total_sms) == (1, 1)
        broadcast = send.queue(console, kit.config, "Shelter open at St Mary's school", "subscribers")
        wait_for(lambda: "Shelter open at St Mary's school" in texts_to(kit, ALICE))
        wait_for(lambda: send.status(console, broadcast)["delivery"]["delivered"] == 1)
        assert len(texts_to(kit, CAROL)) == 2 and len(texts_to(kit, BOB)) == 2  # confirmations only


def test_an_emergency_reply_overtakes_a_broadcast_in_progress():
    numbers = [f"+2547220000{i:02d}" for i in range(6)]
    with SimulatedKit(NO_LLM, broadcast__send_interval=0.3) as kit, Store.open(kit.data_dir / "evy.db") as console:
        with console.transaction() as db:
            for number in numbers:
                store_broadcasts.subscribe(db, number, "en")
        send.queue(console, kit.config, "Food distribution at the stadium 10:00", "subscribers")
        kit.sim.deliver(ALICE, "my father collapsed and is not breathing")
        wait_for(lambda: len(join_replies(list(kit.sim.sent))) == 7)
        order = [r.recipient for r in join_replies(list(kit.sim.sent))]
        assert order.index(ALICE) < 3  # did not wait behind the broadcast
        sent_at = [p.at for p in kit.sim.sent if p.submit.recipient in numbers]
        assert all(b - a >= 0.25 for a, b in itertools.pairwise(sent_at))  # the modem's pace
