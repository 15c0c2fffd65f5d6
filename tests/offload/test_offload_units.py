"""bigEVY's two small state machines without a radio: the kit's table of waits and the big node's refusals."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evy.mesh.messages import OffloadRequest, OffloadResponse
from evy.offload.asking import Pending
from evy.offload.server import Asked, OffloadServer, whole_sentences

BIG, OTHER = 0xE5000002, 0xE5000003


def answer_later(pending: Pending, delay: float, source: int, response: OffloadResponse, why: list) -> None:
    def arrive() -> None:
        time.sleep(delay)
        why.append(pending.arrived(source, response))

    threading.Thread(target=arrive, daemon=True).start()


def test_an_answer_in_time_from_the_node_asked_ends_the_wait():
    pending, why = Pending(), []
    pending.expect(7, BIG, time.monotonic() + 5)
    answer_later(pending, 0.05, BIG, OffloadResponse(7, "Boil it for one minute."), why)
    started = time.monotonic()
    assert pending.wait(7) == "Boil it for one minute."
    assert time.monotonic() - started < 2 and why == [None] and pending.in_time == 1


def test_answers_to_another_request_or_from_another_node_are_dropped_and_the_wait_runs_out():
    pending, why = Pending(), []
    pending.expect(7, BIG, time.monotonic() + 0.5)
    answer_later(pending, 0.0, BIG, OffloadResponse(8, "wrong request id"), why)
    answer_later(pending, 0.05, OTHER, OffloadResponse(7, "a node that was not asked"), why)
    assert pending.wait(7) is None
    assert sorted(pending.dropped) == ["wrong_node", "wrong_request"] and all(why)


def test_a_late_answer_is_dropped_as_late_and_a_second_answer_never_replaces_the_first():
    pending = Pending()
    pending.expect(7, BIG, time.monotonic() + 0.1)
    assert pending.wait(7) is None
    assert "after the deadline" in pending.arrived(BIG, OffloadResponse(7, "too late"))
    pending.expect(9, BIG, time.monotonic() + 5)
    assert pending.arrived(BIG, OffloadResponse(9, "first")) is None
    assert pending.arrived(BIG, OffloadResponse(9, "second")) is not None
    assert pending.wait(9) == "first" and pending.dropped == {"late": 2}


def asked(source: int = OTHER, *, emergency: bool = False, seconds: int = 20) -> Asked:
    return Asked(source, 1, emergency, OffloadRequest("where can we get clean water?", 459, seconds),
                 time.monotonic())


def test_the_big_node_refuses_emergencies_and_rate_limits_each_kit(tmp_path, config_for):
    server = OffloadServer(config_for(tmp_path, offload__serve=True, offload__per_kit_per_hour=2),
                           send=lambda *_: None)  # not started: nothing is answered, only admitted
    assert server.submit(asked(emergency=True)) == "emergency"
    assert [server.submit(asked()) for _ in range(3)] == [None, None, "rate_limited"]
    assert server.submit(asked(BIG)) is None  # another kit has its own allowance
    assert server.refused == {"emergency": 1, "rate_limited": 1}


def test_the_big_node_answers_no_emergency_even_when_it_is_not_flagged(tmp_path, config_for):
    server = OffloadServer(config_for(tmp_path, offload__serve=True), send=lambda *_: None)
    request = OffloadRequest("my father collapsed and is not breathing, help", 459, 20)
    assert server.answer(request, time.monotonic() + 10) is None


def test_the_big_node_keeps_its_answer_inside_the_asking_kits_deadline(tmp_path, config_for):
    server = OffloadServer(config_for(tmp_path, offload__serve=True, offload__timeout=30), send=lambda *_: None)
    request = asked(seconds=10)
    assert server.deadline(request) == pytest.approx(request.received + 7)


@pytest.mark.parametrize(("text", "limit", "kept"), [
    ("Boil it. Then cool it. Store it covered", 100, "Boil it. Then cool it."),
    ("Boil it for one minute. Then let it cool down.", 30, "Boil it for one minute."),
    ("one long sentence with no end", 100, ""),
    ("Boil it! Cool it? Store it.", 100, "Boil it! Cool it? Store it."),
])
def test_a_cut_answer_keeps_only_its_whole_sentences(text, limit, kept):
    assert whole_sentences(text, limit) == kept


def test_the_offload_model_is_derived_reproducibly_and_matches_its_pin(models_dir, tmp_path):
    """The second pinned model: the packaged Q4_1 chat model re-quantized to Q8_0, pinned by size and sha256;
    deriving it again elsewhere gives the same bytes, and `choose_chat_model` never offers it as a chat model."""
    from evy.llm import choose_chat_model, lockfile
    from evy.llm.convert import prepare

    entries = lockfile.load()
    entry = lockfile.find(entries, "smollm2-135m-instruct-q8")
    assert entry.role == "offload" and entry.convert == "gguf-requantize-q8_0"
    assert lockfile.verify(entry, models_dir).stat().st_size == entry.size
    again = prepare(entry, tmp_path)  # a fresh directory: converted anew, then verified against the pin
    assert lockfile.sha256_file(again) == entry.sha256
    assert choose_chat_model(entries, "auto", None).role == "chat"
    assert choose_chat_model(entries, "auto", None, role="offload") == entry


@given(st.text(alphabet=st.sampled_from("ab .!?\n"), max_size=120), st.integers(0, 150))
def test_whole_sentences_is_a_fitting_prefix_ending_a_sentence(text, limit):
    kept = whole_sentences(text, limit)
    assert len(kept) <= limit
    assert kept == "" or (kept[-1] in ".!?" and text.lstrip().startswith(kept))


def test_a_request_the_mesh_could_not_deliver_ends_the_wait_at_once():
    pending = Pending()
    pending.expect(7, BIG, time.monotonic() + 30)
    threading.Timer(0.05, pending.undelivered, args=(7,)).start()
    started = time.monotonic()
    assert pending.wait(7) is None and time.monotonic() - started < 2
    assert "stopped waiting" in pending.arrived(BIG, OffloadResponse(7, "the ACK was lost, not the request"))
    assert pending.in_time == 0
