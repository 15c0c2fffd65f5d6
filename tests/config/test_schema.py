"""The settings machinery both tables use (the agent's config and the image profile): rows, parsers, the table."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evy.config.schema import (
    REQUIRED,
    BadValue,
    Setting,
    SettingsTable,
    boolean,
    integer,
    list_of,
    matching,
    string,
    table,
)


class Refused(ValueError):
    pass


ROWS = SettingsTable([
    Setting("name", matching(r"[a-z]+", "a lower-case word"), REQUIRED, "A name."),
    Setting("size.mib", integer(1, 64), 8, "Size."),
    Setting("size.shared", boolean, False, "Shared."),
    Setting("extra.table", table, {}, "A table kept whole."),
    Setting("extra.tags", list_of(string, min_items=0), (), "Tags."),
], Refused, noun="key")


@given(st.integers(-1000, 1000))
def test_integers_accept_exactly_their_range(value):
    if 1 <= value <= 64:
        assert integer(1, 64)(value) == value
    else:
        with pytest.raises(BadValue, match=f"must be from 1 to 64, got {value}"):
            integer(1, 64)(value)


@given(st.lists(st.sampled_from(["a", "b", "c", "D"]), max_size=5))
def test_lists_parse_each_item_refuse_repeats_and_count(items):
    parse = list_of(matching(r"[a-z]", "a letter"), min_items=1)
    if "D" in items:
        with pytest.raises(BadValue, match=rf"item {items.index('D')}: expected a letter"):
            parse(items)
    elif len(set(items)) != len(items):
        with pytest.raises(BadValue, match="duplicate entries"):
            parse(items)
    elif not items:
        with pytest.raises(BadValue, match="needs at least 1 entry"):
            parse(items)
    else:
        assert parse(items) == tuple(items)


def test_the_table_reads_nested_tables_over_defaults():
    values = ROWS.read({"name": "kit", "size": {"mib": 16}, "extra": {"table": {"a": {"b": 1}}}})
    assert values == {"name": "kit", "size.mib": 16, "size.shared": False, "extra.table": {"a": {"b": 1}},
                      "extra.tags": ()}
    assert ROWS.section_defaults("size") == {"mib": 8, "shared": False}


@pytest.mark.parametrize(("table_", "message"), [
    ({}, "p.toml: name: missing (required)"),
    ({"name": "kit", "size": {"mbi": 1}}, "p.toml: size.mbi: unknown key (did you mean size.mib?)"),
    ({"name": "kit", "size": {"colour": 1}}, "p.toml: size.colour: unknown key (known in [size]: mib, shared)"),
    ({"name": "kit", "size": {"mib": 65}}, "p.toml: size.mib: must be from 1 to 64, got 65"),
    ({"name": "Kit"}, "p.toml: name: expected a lower-case word, got str 'Kit'"),
])
def test_the_first_problem_is_one_line_naming_the_key(table_, message):
    with pytest.raises(Refused) as info:
        ROWS.read(table_, "p.toml: ")
    assert str(info.value) == message


def test_the_reference_is_made_from_the_rows():
    assert ROWS.reference_markdown().splitlines()[2:4] == [
        "| `name` | a lower-case word | required | A name. |",
        "| `size.mib` | integer from 1 to 64 | `8` | Size. |"]


def test_a_key_declared_twice_is_refused():
    with pytest.raises(ValueError, match="declared twice"):
        SettingsTable([Setting("a", boolean, False, ""), Setting("a", boolean, True, "")], Refused)


def test_typed_settings_take_their_defaults_from_the_table():
    from dataclasses import fields

    from evy.config.table import TABLE
    from evy.mesh.routing import RoutingParams
    from evy.mesh.simulator import SimConfig
    from evy.sms.modem import ModemSettings

    modem = TABLE.section_defaults("modem")
    assert {f.name: f.default for f in fields(ModemSettings)} == modem  # every modem.* setting, no other
    mesh, routing = TABLE.section_defaults("mesh"), RoutingParams()
    assert (routing.hop_limit, routing.origin_retries, routing.route_ttl_s) == (
        mesh["hop_limit"], mesh["retries"], mesh["route_ttl"])
    simulated = SimConfig()
    assert (simulated.region, simulated.frequency_mhz, simulated.beacon_interval_s) == (
        mesh["region"], mesh["frequency"], mesh["beacon_interval"])


def test_a_typed_field_without_a_setting_is_refused():
    from evy.config.schema import defaults_from

    with pytest.raises(TypeError, match=r"Typo.spead: no setting size.spead"):
        @defaults_from(ROWS.settings, "size")
        class Typo:
            spead: int
