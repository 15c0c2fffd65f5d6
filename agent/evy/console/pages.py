"""The console's HTML pages: login, the cases board, a case, the map, the audit log, and the exports.

Forms post back and redirect (POST → 303 → GET), so a reload never repeats an action; each action form also
carries a one-time key, so a form sent twice acts once.
"""

from __future__ import annotations

import json
import secrets
import time
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from evy.cases import export
from evy.cases.code import case_code
from evy.cases.state import OPEN_STATUSES, Status, operator_moves
from evy.console import actions, auth, geo, handover, tiles
from evy.console.web import LOGIN_COOKIE, SESSION_COOKIE, Console, Refused, WebConsole, filters, secure
from evy.store import cases as case_store
from evy.store import console as console_store
from evy.store.optouts import is_opted_out

BOARD_ROWS = 150  # the most urgent first; a page stays under 100 KB on a phone (the exports hold every case)
KIND_LABELS = {"reply": "automatic reply", "followup": "automatic follow-up", "relay": "relayed",
               "operator": "operator reply", "status-sms": "status SMS", "handover": "hand-over SMS", "other": "sent"}


def _cookie(response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict", path="/")


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


def _back(path: str, message: str) -> Response:
    return secure(RedirectResponse(f"{path}?done={quote(message)}", 303))


# -- login ---------------------------------------------------------------------------------------------------

async def login_page(console: WebConsole, request: Request, message: str | None = None, status: int = 200,
                     account: str | None = None) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    response = console.page(request, "login.html", status, session=None, login_token=token, account=account,
                            flash=message, flash_kind="error")
    _cookie(response, LOGIN_COOKIE, token, max_age=3600)
    return response


async def login(console: WebConsole, request: Request) -> Response:
    fields = await console.form(request, None)
    account, password = fields.get("account", "").strip()[:64], fields.get("password", "")
    address, now = _address(request), time.time()
    keys = (f"account:{account}", f"address:{address}")
    wait = console.lockout.locked_for(keys, now)
    if wait > 0:
        console.audit(at=now, actor=account or "-", address=address, action="login-locked")
        return await login_page(console, request, f"Too many wrong passwords: try again in {wait / 60:.0f} min.",
                                429, account)
    role, password_hash = console.accounts.get(account, (None, None))
    async with console.verifying:  # each check takes 64 MiB: a flood of logins must not exhaust the unit's memory
        right = await run_in_threadpool(auth.verify_password, password_hash, password)
    if not right or role is None:
        locked = console.lockout.failed(keys, now)
        console.audit(at=now, actor=account or "-", address=address, action="login-failed",
                      detail="locked" if locked else "")
        return await login_page(console, request, "Wrong account or password.", 401, account)
    console.lockout.succeeded(keys)
    token, _ = console.sessions.start(account, role, now)
    console.audit(at=now, actor=account, address=address, action="login", detail=str(role))
    response = secure(RedirectResponse("/", 303))
    _cookie(response, SESSION_COOKIE, token, max_age=int(console.sessions.lifetime))
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


async def logout(console: WebConsole, request: Request) -> Response:
    session = console.require(request)
    await console.form(request, session)
    console.sessions.end(request.cookies.get(SESSION_COOKIE))
    console.audit(at=time.time(), actor=session.account, address=_address(request), action="logout")
    response = secure(RedirectResponse("/login", 303))
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- board -----------------------------------------------------------------------------------------------------

def _board_context(console: Console, request: Request) -> dict:
    statuses, category, since, chosen = filters(request.query_params)
    store = console.store.get()
    rows = console_store.board(store, statuses=statuses, category=category, since=since, limit=BOARD_ROWS + 1)
    more, rows = len(rows) > BOARD_ROWS, rows[:BOARD_ROWS]
    distances = {row.case.id: geo.describe(console.kit_position, _position(row.case)) for row in rows}
    return {"rows": rows, "more": more, "distances": distances, **chosen}


def _position(case) -> tuple[float, float] | None:
    return None if case.latitude is None or case.longitude is None else (case.latitude, case.longitude)


def _query(request: Request) -> str:
    return urlencode(list(request.query_params.multi_items()))


async def board(console: Console, request: Request) -> Response:
    console.require(request)
    store = console.store.get()
    return console.page(request, "board.html", statuses=[str(s) for s in Status],
                        categories=console_store.categories(store), counts=console_store.counts_by_status(store),
                        query=_query(request), **_board_context(console, request))


async def board_rows(console: Console, request: Request) -> Response:
    console.require(request)
    return console.fragment("board_rows.html", **_board_context(console, request))


# -- one case --------------------------------------------------------------------------------------------------

def _kind(entry) -> str:
    if entry.direction == "in":
        return "in"
    if entry.kind.startswith("operator:"):
        return "operator"
    if entry.kind.startswith("status:"):
        return "status-sms"
    return entry.kind if entry.kind in KIND_LABELS else "other"


def _thread_context(console: Console, number: int) -> dict:
    thread = case_store.thread(console.store.get(), number)
    return {"thread": thread, "kinds": [_kind(entry) for entry in thread], "kind_labels": KIND_LABELS}


async def case_page(console: Console, request: Request) -> Response:
    session = console.require(request)
    number = console.case_id(request.path_params["code"])
    store = console.store.get()
    case = case_store.get(store, number)
    if case is None:
        raise Refused(404, f"no case {request.path_params['code']!r}")
    return console.page(request, "case.html", session=session, case=case, **_thread_context(console, number),
                        distance=geo.describe(console.kit_position, _position(case)),
                        notes=console_store.notes(store, number),
                        history=console_store.audit_entries(store, case_id=number),
                        opted_out=is_opted_out(store, case.sender),
                        moves=operator_moves(case.status),
                        merged_into=console_store.merged_into(store, number),
                        merged_from=console_store.merged_from(store, number),
                        **handover.case_context(store, number))


async def thread_items(console: Console, request: Request) -> Response:
    console.require(request)
    return console.fragment("thread_items.html", **_thread_context(console, console.case_id(
        request.path_params["code"])))


async def case_action(console: Console, request: Request) -> Response:
    session = console.require(request, act=True)
    fields = await console.form(request, session)
    code = request.path_params["code"]
    number = console.case_id(code)
    outcome = perform(console, request, session, number, request.path_params["action"], fields)
    target = f"/cases/{case_code(number)}"
    if request.path_params["action"] == "merge" and outcome.done:
        target = f"/cases/{case_code(console.case_id(fields['into']))}"
    return _back(target, outcome.message)


def perform(console: Console, request: Request, session: auth.Session, number: int, action: str,
            fields: dict[str, str]) -> actions.Outcome:
    """Run one case action for a page or the API; an ActionError becomes a 400 with its reason."""
    actor = actions.Actor(session.account, _address(request))
    key = fields.get("key") or secrets.token_urlsafe(16)
    store = console.store.get()
    try:
        if action == "reply":
            return actions.reply(store, console.config, actor, number, fields.get("text", ""), key)
        if action == "status":
            notify = fields.get("notify", "") in ("yes", "true", "on", "1")
            return actions.change_status(store, console.config, actor, number, fields.get("status", ""), notify,
                                         key)
        if action == "notes":
            return actions.add_note(store, actor, number, fields.get("text", ""), key)
        if action == "merge":
            return actions.merge(store, actor, number, console.case_id(fields.get("into", "").strip()), key)
        if action == "handover":
            return handover.hand_over(store, actor, number, fields.get("kit", ""), key)
    except actions.ActionError as exc:
        raise Refused(400, str(exc)) from None
    raise Refused(404, f"no action {action!r}")


# -- map, audit, export ------------------------------------------------------------------------------------------

async def map_page(console: Console, request: Request) -> Response:
    console.require(request)
    rows = console_store.board(console.store.get(), statuses=OPEN_STATUSES)
    placed = [row.case for row in rows if _position(row.case) is not None]
    plot = None
    if console.kit_position is not None:
        plot = geo.plot(console.kit_position, [(case.latitude, case.longitude, case_code(case.id),
                                                f"/cases/{case_code(case.id)}", case.priority) for case in placed])
    return console.page(request, "map.html", plot=plot, unplaced=len(rows) - len(placed),
                        **tiles.map_context(console, plot))


async def audit_page(console: Console, request: Request) -> Response:
    console.require(request)
    return console.page(request, "audit.html", entries=console_store.audit_entries(console.store.get(), limit=500))


async def export_cases(console: Console, request: Request) -> Response:
    session = console.require(request)
    statuses, category, since, _ = filters(request.query_params)
    store = console.store.get()
    rows = console_store.board(store, statuses=statuses, category=category, since=since, limit=100_000)
    found, last = [row.case for row in rows], {row.case.id: row.last_text for row in rows}
    kind = request.path_params["format"]
    console_store.audit(store, at=time.time(), actor=session.account, address=_address(request), action="export",
                        detail=f"{kind}, {len(found)} cases, {_query(request) or 'open cases'}")
    stamp = time.strftime("%Y%m%dT%H%MZ", time.gmtime())
    if kind == "csv":
        body, media = export.to_csv(found, last), "text/csv; charset=utf-8"
    else:
        body, media = json.dumps(export.to_geojson(found, last), ensure_ascii=False), "application/geo+json"
    return secure(Response(body, media_type=media, headers={
        "content-disposition": f'attachment; filename="evy-cases-{stamp}.{kind}"'}))
