"""Case export: CSV with HXL hashtags, GeoJSON, and `evy cases` against a real database file."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from evy.cases.code import case_code
from evy.cases.export import to_csv, to_geojson
from evy.cases.state import Case, Status
from evy.store import Store
from evy.store import cases as case_store


def sample(case_id: int = 1, **changes) -> Case:
    return replace(Case(id=case_id, sender="+254700000001", opened_at=1_700_000_000.0, updated_at=1_700_000_060.0,
                        category="fire", emergency=True, priority=0), **changes)


def test_csv_has_a_header_and_an_hxl_row() -> None:
    rows = list(csv.reader(io.StringIO(to_csv([sample(latitude=-1.29, longitude=36.82)], {1: "house on fire"}))))
    assert rows[0][0] == "case" and rows[1][0] == "#meta+id" and all(tag.startswith("#") for tag in rows[1])
    assert rows[2][0] == case_code(1) and rows[2][-1] == "house on fire"
    assert rows[2][rows[0].index("opened")] == "2023-11-14T22:13:20+00:00"


@given(st.text(max_size=80))
def test_a_sender_text_never_becomes_a_spreadsheet_formula(text: str) -> None:
    [_, _, row] = list(csv.reader(io.StringIO(to_csv([sample()], {1: text}), newline="")))
    cell = row[-1]
    assert cell[:1] not in ("=", "+", "-", "@") or cell.lstrip("+-").replace(".", "", 1).isdigit()


def test_geojson_has_only_located_cases_longitude_first() -> None:
    collection = to_geojson([sample(1, latitude=-1.29, longitude=36.82), sample(2)])
    [feature] = collection["features"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [36.82, -1.29]}
    assert feature["properties"]["case"] == case_code(1) and feature["id"] == case_code(1)


def test_evy_cases_commands_read_the_kit_database(tmp_path: Path) -> None:
    config = tmp_path / "evy.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n')
    with Store.open(tmp_path / "evy.db") as store, store.transaction() as db:
        message = db.execute("INSERT INTO messages(sender, text, encoding, received_at) VALUES"
                             " ('+254700000001', 'fire at the school', 'gsm7', 5)").lastrowid
        case = case_store.open_case(db, "+254700000001", 5.0)
        case_store.attach_message(db, message, case.id)
        case_store.save(db, replace(case, category="fire", emergency=True, priority=0,
                                    location_text="the school", latitude=-1.29, longitude=36.82))
        closed = case_store.open_case(db, "+254700000002", 6.0)
        case_store.save(db, replace(closed, status=Status.CLOSED))

    def evy(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "evy", "cases", *args, "--config", str(config)],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    listed = evy("list")
    assert case_code(case.id) in listed and "fire at the school" in listed and case_code(closed.id) not in listed
    assert case_code(closed.id) in evy("list", "--all")
    [line] = evy("list", "--json").splitlines()
    assert json.loads(line)["location"] == "the school"
    shown = evy("show", case_code(case.id))
    assert "<- fire at the school" in shown and "(-1.29, 36.82)" in shown
    assert json.loads(evy("export", "--format", "geojson"))["features"][0]["properties"]["category"] == "fire"
    exported = list(csv.reader(io.StringIO(evy("export", "--all"))))
    assert len(exported) == 4
    bad = subprocess.run([sys.executable, "-m", "evy", "cases", "show", "ZZZZ", "--config", str(config)],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("error: no case")
