"""/metrics from a real store: the exposition parses, histograms are consistent, counts match the rows."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from evy.config import parse
from evy.metrics.collector import render
from evy.store import Store, sample


def families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 60), st.integers(1, 3), st.integers(0, 2**16))
def test_every_reply_is_in_exactly_one_latency_bucket_and_counts_match_the_store(cases, per_case, seed):
    with tempfile.TemporaryDirectory() as tmp:
        config = parse(f'data_dir = "{tmp}"')
        with Store.open(Path(tmp) / "evy.db") as store:
            sample.fill(store, cases, now=time.time(), seed=seed, messages_per_case=per_case)
            found = families(render(store, config).decode())
    received = sum(s.value for s in found["evy_messages_received"].samples)
    sent = sum(s.value for s in found["evy_messages_sent"].samples)
    assert received == sent == cases * per_case
    histogram = found["evy_reply_latency_seconds"].samples
    total = 0.0
    for priority in {s.labels["priority"] for s in histogram}:
        mine = [s for s in histogram if s.labels["priority"] == priority]
        buckets = [s.value for s in mine if s.name.endswith("_bucket")]
        [count] = [s.value for s in mine if s.name.endswith("_count")]
        assert buckets == sorted(buckets) and buckets[-1] == count  # cumulative, ending at +Inf
        total += count
    assert total == cases * per_case


def test_an_empty_store_gives_a_valid_exposition_with_each_name_once(tmp_path):
    config = parse(f'data_dir = "{tmp_path}"')
    with Store.open(tmp_path / "evy.db") as store:
        text = render(store, config).decode()
    helps = [line.split()[2] for line in text.splitlines() if line.startswith("# HELP")]
    assert len(helps) == len(set(helps))  # one HELP per name, or node_exporter rejects the file
    assert families(text)["evy_agent_up"].samples[0].value == 0
