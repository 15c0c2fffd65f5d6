"""Power cuts at random moments while SMS are processed: data clean, database intact, one reply each."""

import os
import random
import time

import pytest
from evyhil.sms import split_followups

pytestmark = [pytest.mark.hil, pytest.mark.slow]


def test_power_cuts_while_processing_sms(kit, phone, options, figures):
    cycles = int(os.environ.get("EVY_HIL_CYCLES", options.power_cut_cycles))
    seed = int(os.environ.get("EVY_HIL_RANDOM_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    figures["power_cut_random_seed"] = seed
    figures["power_cut_cycles"] = 0
    kit.boot()
    phone.clear()
    delays = []
    for cycle in range(1, cycles + 1):
        kit.boot()
        phone.send(options.kit_number, f"Emergency {cycle}: flood water rising, family of {cycle + 2} on the roof")
        delays.append(round(rng.uniform(0, options.power_cut_window), 1))
        time.sleep(delays[-1])
        kit.power_cut()
        figures["power_cut_cycles"] = cycle
    figures["power_cut_delays_s"] = delays
    kit.boot()
    deadline = time.monotonic() + options.sms_timeout + 60 * cycles
    while len(split_followups(phone.inbox(), kit.outbox_texts("followup")).replies) < cycles:
        assert time.monotonic() < deadline, f"{cycles} messages, answers: {[r.text[:40] for r in phone.inbox()]}"
        time.sleep(5)
    time.sleep(options.quiet_period)
    answers = split_followups(phone.inbox(), kit.outbox_texts("followup"))
    replies = answers.replies
    figures["power_cut_replies"], figures["power_cut_followups"] = len(replies), len(answers.followups)
    assert len(replies) == cycles, f"{cycles} messages, {len(replies)} answers: {[r.text[:40] for r in replies]}"
    assert len(answers.followups) <= cycles and not answers.repeated_followups, \
        f"follow-ups: {[r.text[:40] for r in answers.followups]}"
    assert all(options.emergency_number in reply.text for reply in replies)

    # Stop the agent, freeze the data partition and check it like a technician would.
    data = kit.mount(options.data_dir)["source"]
    kit.run(f"systemctl stop {options.agent_unit}")
    try:
        check = ("import sqlite3, sys; db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True); "
                 "print(db.execute('PRAGMA integrity_check').fetchone()[0])")
        integrity = kit.run(f"runuser -u {options.agent_user} -- python3 -c \"{check}\" {options.data_dir}/evy.db")
        assert integrity.strip().splitlines()[-1] == "ok", integrity
        kit.run(f"mount -o remount,ro {options.data_dir}")
        code, fsck = kit.run_status(f"e2fsck -fn {data}", timeout=300)
        assert code == 0, f"e2fsck -fn {data} exited {code}:\n{fsck}"
    finally:
        kit.run_status(f"mount -o remount,rw {options.data_dir}")
        kit.run_status(f"systemctl start --no-block {options.agent_unit}")  # READY is not this test's business
    figures["power_cut_cycles_survived"] = cycles
