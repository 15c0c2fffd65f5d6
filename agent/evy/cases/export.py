"""Cases for a coordination cell: CSV with HXL hashtags (the humanitarian exchange language's second header
row, so HDX tools read the columns) and GeoJSON for maps."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from evy.cases.code import case_code
from evy.cases.state import Case

# column, its HXL hashtag, how to read it off a case
_COLUMNS = (
    ("case", "#meta+id", lambda c: case_code(c.id)),
    ("status", "#status", lambda c: str(c.status)),
    ("category", "#event+category", lambda c: c.category or ""),
    ("protocol", "#event+type", lambda c: c.topic or ""),
    ("emergency", "#indicator+emergency", lambda c: "yes" if c.emergency else "no"),
    ("priority", "#severity", lambda c: c.priority),
    ("sender", "#contact+phone", lambda c: c.sender),
    ("language", "#meta+lang", lambda c: c.language),
    ("opened", "#date+opened", lambda c: _iso(c.opened_at)),
    ("updated", "#date+updated", lambda c: _iso(c.updated_at)),
    ("location", "#loc+name", lambda c: c.location_text or ""),
    ("latitude", "#geo+lat", lambda c: "" if c.latitude is None else c.latitude),
    ("longitude", "#geo+lon", lambda c: "" if c.longitude is None else c.longitude),
    ("people", "#affected+num", lambda c: "" if c.people is None else c.people),
)


def _iso(when: float | None) -> str:
    return "" if when is None else datetime.fromtimestamp(when, UTC).isoformat(timespec="seconds")


def _cell(value: object) -> object:
    """Spreadsheet formula injection: a sender's text never starts a cell with = + - @."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(value):
        return "'" + value
    return value


_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def _is_number(value: str) -> bool:
    return _NUMBER.fullmatch(value) is not None


def to_csv(cases: Iterable[Case], last_texts: Mapping[int, str | None] | None = None) -> str:
    last_texts = last_texts or {}
    out = io.StringIO()
    writer = csv.writer(out)  # RFC 4180: CRLF rows, so a CR or LF inside a text is always quoted
    writer.writerow([name for name, _, _ in _COLUMNS] + ["last_message"])
    writer.writerow([tag for _, tag, _ in _COLUMNS] + ["#description"])
    for case in cases:
        writer.writerow([_cell(read(case)) for _, _, read in _COLUMNS] + [_cell(last_texts.get(case.id) or "")])
    return out.getvalue()


def to_geojson(cases: Iterable[Case], last_texts: Mapping[int, str | None] | None = None) -> dict:
    """A FeatureCollection of the cases with coordinates (RFC 7946: longitude first)."""
    last_texts = last_texts or {}
    features = []
    for case in cases:
        if case.latitude is None or case.longitude is None:
            continue
        properties = {name: read(case) for name, _, read in _COLUMNS if name not in ("latitude", "longitude")}
        properties["last_message"] = last_texts.get(case.id)
        features.append({"type": "Feature", "id": case_code(case.id),
                         "geometry": {"type": "Point", "coordinates": [case.longitude, case.latitude]},
                         "properties": properties})
    return {"type": "FeatureCollection", "features": features}


def geojson_text(cases: Iterable[Case], last_texts: Mapping[int, str | None] | None = None) -> str:
    return json.dumps(to_geojson(cases, last_texts), ensure_ascii=False)
