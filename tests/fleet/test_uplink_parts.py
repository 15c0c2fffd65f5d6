"""The uplink's parts without a broker: the bandwidth cap, the kit id, the credentials file, the fleet hook
with the fleet off or misconfigured (the kit answers SMS regardless), `evy fleet status`."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evy.cli import main
from evy.config import parse
from evy.errors import ConfigError
from evy.fleet.link import FleetError, read_credentials
from evy.fleet.uplink import TokenBucket, kit_id, start_fleet_uplink
from evy.store import Store, uplink
from evy.store import cases as case_store


@given(st.floats(10, 10_000), st.lists(st.tuples(st.integers(1, 2000), st.floats(0, 2)), min_size=1, max_size=60))
def test_the_cap_never_lets_more_through_than_the_rate_allows(rate, sends):
    now = [0.0]
    bucket = TokenBucket(rate, clock=lambda: now[0])
    sent = 0
    for size, pause in sends:
        now[0] += pause
        while (wait := bucket.wait_for(size)) > 0:
            now[0] += wait
        sent += size
        # a second's worth (or the largest event) of burst, plus the rate since the start
        assert sent <= rate * now[0] + max(rate, max(s for s, _ in sends)) + 1e-6


def test_kit_id_from_the_setting_the_mesh_node_or_the_host():
    assert kit_id(parse('[fleet]\nkit_id = "kit-03"')) == "kit-03"
    assert kit_id(parse('[mesh]\nnode_id = "0000abcd"')) == "kit-0000abcd"
    assert kit_id(parse(""))  # the host name, made topic-safe
    with pytest.raises(ConfigError, match="MQTT topic level"):
        parse('[fleet]\nkit_id = "kit/03"')


def test_credentials_file_is_one_line_user_colon_password(tmp_path):
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.write_text("kit-03:s3cret:with:colons\n")
    bad.write_text("no colon here\n")
    assert read_credentials(good) == ("kit-03", "s3cret:with:colons")
    with pytest.raises(FleetError, match="username:password"):
        read_credentials(bad)
    with pytest.raises(FleetError, match="cannot read"):
        read_credentials(tmp_path / "missing")


def test_the_hook_with_the_fleet_off_queues_nothing_and_misconfigured_does_not_stop_the_kit(tmp_path, caplog):
    with Store.open(tmp_path / "evy.db") as store:
        assert start_fleet_uplink(parse(""), store) is None
        with store.transaction() as db:
            case_store.open_case(db, "+254700000001", 1.0)
        assert uplink.depth(store)["queued"] == 0
        assert start_fleet_uplink(parse("[fleet]\nenabled = true"), store) is None  # no broker_host
        assert "fleet.broker_host is not set" in caplog.text
        with store.transaction() as db:
            case_store.open_case(db, "+254700000002", 2.0)
        assert uplink.depth(store)["queued"] == 1  # queued for when the setup is fixed


def test_fleet_status_lists_the_queue(tmp_path, capsys):
    config = tmp_path / "evy.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[fleet]\nenabled = true\nkit_id = "kit-03"\n')
    with Store.open(tmp_path / "evy.db") as store:
        uplink.set_enabled(store, True)
        with store.transaction() as db:
            case_store.open_case(db, "+254700000001", 1.0)
    assert main(["fleet", "status", "--config", str(config)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["kit"], status["queued"], status["queued_by_topic"], status["last_event_seq"]) == (
        "kit-03", 1, {"cases": 1}, 1)
