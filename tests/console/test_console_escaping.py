"""Whatever a sender writes comes back on every page as text, never as markup (property tests over the
console's own templates), and the board's filters parse any query to a clear refusal or a filter."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evy.cases.state import Case
from evy.console.web import Console, Refused, filters
from evy.store.console import BoardRow

from .conftest import console_config

MARKUP = st.text(alphabet=st.sampled_from('<>&"\'/=abc xyz\n'), min_size=1, max_size=60)


@pytest.fixture(scope="module")
def console(tmp_path_factory, password_hashes) -> Console:
    return Console(console_config(password_hashes), tmp_path_factory.mktemp("db") / "evy.db")


def visible(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", page))


@settings(max_examples=150, deadline=None)
@given(text=MARKUP, place=MARKUP, category=MARKUP)
def test_a_sender_text_is_shown_as_text_on_the_board(console: Console, text: str, place: str,
                                                      category: str) -> None:
    case = Case(id=7, sender="+254700000001", opened_at=0.0, updated_at=0.0, location_text=place,
                category=category)
    page = console.fragment("board_rows.html", rows=[BoardRow(case, 1, text)], more=False,
                            distances={7: None}).body.decode()
    tags = re.findall(r"<(/?\w+)", page)
    assert set(tags) <= {"tr", "/tr", "td", "/td", "a", "/a", "small", "/small", "br", "span", "/span"}
    for value in (place, category):
        assert " ".join(value.split()) in " ".join(visible(page).split())


@settings(max_examples=150, deadline=None)
@given(text=MARKUP)
def test_a_sender_text_is_shown_as_text_in_the_thread(console: Console, text: str) -> None:
    from evy.store.cases import ThreadEntry

    page = console.fragment("thread_items.html", thread=[ThreadEntry(0.0, "in", text, "answered", "handled")],
                            kinds=["in"], kind_labels={}).body.decode()
    assert set(re.findall(r"<(/?\w+)", page)) <= {"li", "/li", "span", "/span"}
    assert text.strip() in visible(page)


class Query(dict):
    def getlist(self, key: str) -> list[str]:
        value = self.get(key)
        return [] if value is None else value if isinstance(value, list) else [value]


@given(statuses=st.lists(st.text(max_size=12), max_size=4), hours=st.text(max_size=8))
def test_any_filter_query_gives_a_filter_or_a_clear_refusal(statuses: list[str], hours: str) -> None:
    try:
        chosen, _, since, echo = filters(Query(status=statuses, hours=hours))
    except Refused as refusal:
        assert refusal.status == 400 and ("status" in str(refusal) or "hours" in str(refusal))
        return
    assert echo["chosen_hours"] == hours and (since is None) == (hours == "")
    assert chosen is None or {str(status) for status in chosen} == set(statuses or
                                                                       ["new", "acknowledged", "dispatched"])
