"""Property: whatever the line does (echo, chopped output, noise before answers, URCs inside answers), the
AT driver receives, reads, deletes and sends exactly what the simulated network has."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from modem_support import at_settings, collect_events, of_type

from evy.sms import pdu
from evy.sms.at_modem import AtModem
from evy.sms.modem import NewMessage
from evy.sms.simulator import ModemSimulator

texts = st.text(st.characters(codec="utf-16", exclude_categories=("Cs",)), min_size=1, max_size=200)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(echo_refused=st.booleans(), chunk=st.sampled_from([0, 1, 4, 17]), noise=st.integers(0, 9),
       interleave=st.booleans(), model=st.sampled_from(["sim800", "sim7000"]), inbound=texts, reply=texts)
def test_the_driver_gets_every_message_through_any_line(echo_refused, chunk, noise, interleave, model, inbound,
                                                       reply):
    with ModemSimulator(model=model) as simulator:
        if echo_refused:
            simulator.fail_next("E")
        simulator.chunk_size, simulator.chunk_gap, simulator.noise_before_answers = chunk, 0.0, noise
        with AtModem(at_settings(simulator)) as modem:
            if interleave:
                simulator.urcs_inside_next_answer()
                modem.status()
            delivered = simulator.deliver("+254711000111", inbound)
            if interleave:
                modem.list_stored()  # the held +CMTIs come out inside this answer
            events = collect_events(modem, lambda e: len(of_type(e, NewMessage)) >= len(delivered))
            parts = [modem.read(event.location) for event in of_type(events, NewMessage)]
            assert [p.message for p in parts] == delivered
            for stored in parts:
                modem.delete(stored.location)
            assert simulator.stored == {}
            submit_parts = pdu.encode_submit("+254733000999", reply)
            references = [modem.send(p) for p in submit_parts]
            sent = simulator.wait_sent(len(submit_parts))
            assert [s.reference for s in sent] == references
            assert "".join(s.submit.text for s in sent) == reply
