"""The console's JSON API (docs/console.md): what the pages show, for other tools. Reads need a login
(cookie); actions need an operator session and its CSRF token in the ``X-CSRF-Token`` header."""

from __future__ import annotations

from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from evy.cases.code import case_code
from evy.cases.state import Case
from evy.console import actions, geo
from evy.console.pages import _kind, _position, perform
from evy.console.web import Console, Refused, filters, secure
from evy.store import cases as case_store
from evy.store import console as console_store

MAX_LIMIT = 10_000


def _json(data: object, status: int = 200) -> Response:
    return secure(JSONResponse(data, status))


def case_json(console: Console, case: Case) -> dict:
    return {**asdict(case), "status": str(case.status), "asked": list(case.asked), "case": case_code(case.id),
            "distance": geo.describe(console.kit_position, _position(case))}


async def list_cases(console: Console, request: Request) -> Response:
    console.require(request)
    statuses, category, since, _ = filters(request.query_params)
    try:
        limit = int(request.query_params.get("limit", "500"))
    except ValueError:
        raise Refused(400, "limit: a whole number of cases") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise Refused(400, f"limit: from 1 to {MAX_LIMIT}")
    rows = console_store.board(console.store.get(), statuses=statuses, category=category, since=since, limit=limit)
    return _json({"cases": [{**case_json(console, row.case), "messages_in": row.messages_in,
                             "last_message": row.last_text} for row in rows]})


async def get_case(console: Console, request: Request) -> Response:
    console.require(request)
    number = console.case_id(request.path_params["code"])
    store = console.store.get()
    case = case_store.get(store, number)
    if case is None:
        raise Refused(404, f"no case {request.path_params['code']!r}")
    thread = [{**asdict(entry), "kind": _kind(entry), "detail": entry.kind}
              for entry in case_store.thread(store, number)]
    return _json({**case_json(console, case), "thread": thread,
                  "notes": [asdict(note) for note in console_store.notes(store, number)],
                  "history": [asdict(entry) for entry in console_store.audit_entries(store, case_id=number)],
                  "merged_into": console_store.merged_into(store, number)})


async def act(console: Console, request: Request) -> Response:
    session = console.require(request, act=True)
    fields = await console.form(request, session)
    outcome = perform(console, request, session, console.case_id(request.path_params["code"]),
                      request.path_params["action"], fields)
    return _json({"done": outcome.done, "message": outcome.message})


async def count_segments(console: Console, request: Request) -> Response:
    console.require(request)
    text = request.query_params.get("text", "")[:2000]
    encoding, parts, characters = actions.count(text)
    return _json({"encoding": encoding, "segments": parts, "characters": characters,
                  "limit": console.config["console.reply_segments"]})
