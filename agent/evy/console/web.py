"""The console's shared web machinery: its state (config, store, sessions, templates), security headers,
login checks, CSRF checks and form parsing. Pages and the JSON API build on it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from evy.cases.code import case_code, case_id
from evy.cases.state import Status
from evy.config import Config
from evy.console import auth
from evy.console.auth import Lockout, Session, Sessions
from evy.store import Store, StoreError
from evy.store import console as console_store

SESSION_COOKIE = "evy_session"
LOGIN_COOKIE = "evy_login"  # the login form's own CSRF token (there is no session yet)
MAX_FORM_BYTES = 64 * 1024
VERIFY_AT_ONCE = 2  # password checks running together (argon2id takes 64 MiB each; the unit has MemoryMax=192M)
PRIORITY_NAMES = {0: "life-threatening", 1: "emergency", 2: "urgent", 3: "routine"}
STATUS_NAMES = {"new": "new", "acknowledged": "acknowledged", "dispatched": "help dispatched",
                "resolved": "resolved", "closed": "closed"}
# Every asset is the kit's own; nothing inline, so a text that slipped past escaping still could not run.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",  # "no-referrer" would make browsers send "Origin: null" with forms
    "cache-control": "no-store",
}


class Refused(Exception):
    """A request refused with a status and a one-line reason (rendered as a page or JSON)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class StoreHandle:
    """The console's connection to the agent's database, opened again when the agent has replaced the file
    (a damaged database moved aside and salvaged), so the console never keeps reading the old one."""

    def __init__(self, path: Path):
        self.path = path
        self._store: Store | None = None
        self._inode: int | None = None

    def get(self) -> Store:
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            inode = None
        if self._store is None or inode != self._inode:
            if self._store is not None:
                self._store.close()
            self._store = Store.open(self.path)
            self._inode = os.stat(self.path).st_ino
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def ago(when: float | None, now: float | None = None) -> str:
    if when is None:
        return "–"
    seconds = max(0, int((time.time() if now is None else now) - when))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600}h"


def when(at: float | None) -> str:
    return "–" if at is None else datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class ExtraPage:
    """A page another concern adds to the console's menu (kit health, broadcasts, local information)."""

    path: str
    title: str


class WebConsole:
    """What every console shares, the kit's and the cell's fleet console: accounts, lockout, sessions,
    templates, security headers and CSRF-checked forms. A console says what its menu holds, where its audit
    log goes and which errors mean its database cannot be read now."""

    database_errors: tuple[type[Exception], ...] = ()
    database_unreadable = "the database cannot be read now"

    def __init__(self, config: Config, kit_name: str):
        self.config = config
        self.accounts = auth.accounts(config)  # ConsoleError without an operator password
        self.lockout = Lockout(config["console.login_attempts"], config["console.lockout_minutes"] * 60)
        self.sessions = Sessions(config["console.session_hours"] * 3600)
        self.verifying = asyncio.Semaphore(VERIFY_AT_ONCE)
        self.kit_name = kit_name
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("evy.console", "templates"), autoescape=True,
            undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self.templates.filters["code"] = case_code
        self.templates.globals.update(ago=ago, when=when, priority_names=PRIORITY_NAMES, status_names=STATUS_NAMES,
                                      new_key=lambda: secrets.token_urlsafe(16))

    def nav_pages(self) -> list[ExtraPage]:
        raise NotImplementedError

    def audit(self, *, at: float, actor: str, address: str, action: str, detail: str = "") -> None:
        raise NotImplementedError

    def page_context(self, request: Request) -> dict[str, Any]:
        """What every page of this console shows besides its own content."""
        return {}

    # -- responses ---------------------------------------------------------------------------------------
    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("session", self.session(request))
        context.setdefault("flash", request.query_params.get("done"))
        context.setdefault("flash_kind", "ok")
        for name, value in self.page_context(request).items():
            context.setdefault(name, value)
        html = self.templates.get_template(template).render(kit_name=self.kit_name, nav_pages=self.nav_pages(),
                                                            refresh_seconds=self.config["console.refresh_seconds"],
                                                            **context)
        return secure(HTMLResponse(html, status))

    def fragment(self, template: str, **context: Any) -> HTMLResponse:
        return secure(HTMLResponse(self.templates.get_template(template).render(**context)))

    # -- who is asking -----------------------------------------------------------------------------------
    def session(self, request: Request) -> Session | None:
        return self.sessions.get(request.cookies.get(SESSION_COOKIE))

    def require(self, request: Request, act: bool = False) -> Session:
        session = self.session(request)
        if session is None:
            raise Refused(401, "log in first")
        if act and not session.may_act:
            raise Refused(403, f"the {session.account} account is read-only")
        return session

    async def form(self, request: Request, session: Session | None) -> dict[str, str]:
        """A POSTed form (urlencoded or JSON), checked for its origin and its CSRF token."""
        same_origin(request)
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise Refused(413, f"the form is larger than {MAX_FORM_BYTES // 1024} KB")
        if request.headers.get("content-type", "").startswith("application/json"):
            import json

            try:
                data = json.loads(body or b"{}")
            except ValueError:
                raise Refused(400, "the body is not JSON") from None
            if not isinstance(data, dict):
                raise Refused(400, "the body must be a JSON object")
            fields = {str(key): value if isinstance(value, str) else json.dumps(value) for key, value in data.items()}
            token = request.headers.get("x-csrf-token")
        else:
            try:
                parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50)
            except (UnicodeDecodeError, ValueError):
                raise Refused(400, "the form is not readable") from None
            fields = {key: values[-1] for key, values in parsed.items()}
            token = fields.get("csrf")
        expected_ok = (session.csrf_ok(token) if session is not None
                       else token is not None and secrets.compare_digest(token, request.cookies.get(LOGIN_COOKIE, "")))
        if not expected_ok:
            raise Refused(403, "the form's security token is missing or wrong; reload the page and try again")
        return fields


class Console(WebConsole):
    """The kit's console: everything its routes share, over the agent's database."""

    database_errors = (StoreError,)
    database_unreadable = "the kit's database cannot be read now"

    def __init__(self, config: Config, database: Path, kit_name: str = "EVY kit"):
        super().__init__(config, kit_name)
        self.store = StoreHandle(database)
        self.kit_position: tuple[float, float] | None = config["cases.kit_position"]
        self.extra_pages: list[ExtraPage] = []  # the operations pages installed (operations.routes)

    def nav_pages(self) -> list[ExtraPage]:
        return [ExtraPage("/", "Cases"), ExtraPage("/map", "Map"), *self.extra_pages, ExtraPage("/audit", "Audit log")]

    def audit(self, *, at: float, actor: str, address: str, action: str, detail: str = "") -> None:
        console_store.audit(self.store.get(), at=at, actor=actor, address=address, action=action, detail=detail)

    def case_id(self, code: str) -> int:
        found = int(code) if code.isdigit() else case_id(code)
        if not found:
            raise Refused(404, f"no case {code!r}")
        return found


def same_origin(request: Request) -> None:
    """A POST must come from a page of this console (browsers send Origin or Sec-Fetch-Site with it)."""
    origin = request.headers.get("origin")
    host = request.headers.get("host", "")
    if origin is not None and origin != f"{request.url.scheme}://{host}":
        raise Refused(403, "a form from another site was refused")
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise Refused(403, "a form from another site was refused")


def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def refused(console: Console, request: Request, error: Refused) -> Response:
    if request.url.path.startswith("/api/") or request.url.path.endswith("/rows") or \
            request.url.path.endswith("/thread"):
        return secure(JSONResponse({"error": str(error)}, error.status))
    if error.status == 401:
        from starlette.responses import RedirectResponse

        return secure(RedirectResponse("/login", 303))
    return console.page(request, "error.html", error.status, status_code=error.status, heading="Refused",
                        message=str(error), back=request.headers.get("referer") and None)


def filters(params: Any) -> tuple[list[Status] | None, str | None, float | None, dict[str, Any]]:
    """Statuses, category and hours from a query (default: the open statuses), and their echo for forms."""
    names = params.getlist("status") if hasattr(params, "getlist") else []
    try:
        statuses = [Status(name) for name in names] if names else [Status.NEW, Status.ACKNOWLEDGED,
                                                                   Status.DISPATCHED]
    except ValueError:
        raise Refused(400, f"unknown status in {names}") from None
    category = params.get("category") or None
    hours_text = params.get("hours") or ""
    try:
        hours = float(hours_text) if hours_text else None
    except ValueError:
        raise Refused(400, f"hours: {hours_text!r} is not a number") from None
    since = None if hours is None else time.time() - hours * 3600
    statuses_or_all = None if set(statuses) == set(Status) else statuses
    return statuses_or_all, category, since, {"chosen_statuses": [str(s) for s in statuses],
                                              "chosen_category": category, "chosen_hours": hours_text}
