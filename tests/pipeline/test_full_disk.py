"""A full data partition pauses the pipeline without losing anything: the message stays on the SIM until
there is room, then it is stored and answered. Uses a real, tiny tmpfs (needs root to mount)."""

from __future__ import annotations

import shutil
import time

import pytest

from evy.pipeline.kit import join_replies
from evy.sms.simulator import ModemSimulator

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]




def test_full_disk_keeps_the_message_on_the_sim_until_there_is_room(tmp_path, small_partition, agents):
    sim = ModemSimulator().start()
    config = tmp_path / "evy.toml"
    config.write_text(f'country = "KE"\ndata_dir = "{small_partition}"\n[modem]\nport = "{sim.port}"\n'
                      "[brain]\nfollowup = false\n")
    agent = agents.start(config, stdout=None)
    try:
        sim.deliver("+254711000111", "first, while there is room")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(r.complete for r in join_replies(list(sim.sent))):
            time.sleep(0.05)
        assert any(r.complete for r in join_replies(list(sim.sent))), "the first message is answered, every part"
        ballast = small_partition / "ballast"
        with open(ballast, "wb") as fill:  # fill the partition to the last block
            try:
                while True:
                    fill.write(b"\0" * 65536)
                    fill.flush()
            except OSError:
                pass
        before = len(sim.sent)
        sim.deliver("+254711000222", "a long message to store on a full disk " * 4)
        time.sleep(3.0)
        if agent.poll() is not None:  # say why: this has failed once in a while on a loaded host
            pytest.fail(f"the agent stopped (exit {agent.returncode}): {(agent.stderr.read() or '')[-3000:]}")
        assert len(sim.sent) == before, "nothing is answered that could not be stored"
        assert any(slot.stat in (0, 1) for slot in sim.storage.values()), "the message is still on the SIM"

        ballast.unlink()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(join_replies(list(sim.sent))) < 2:
            time.sleep(0.1)
        assert [r.recipient for r in join_replies(list(sim.sent))] == ["+254711000111", "+254711000222"]
    finally:
        stderr = agents.stop(agent, 15)
        sim.stop()
    assert "disk full" in stderr or "database" in stderr
    assert shutil.disk_usage(small_partition).free > 0

