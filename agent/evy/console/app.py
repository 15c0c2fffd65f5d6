"""The console's Starlette application: routes, errors as pages or JSON, and every response's security headers.

The pages over kit health, metrics, broadcasts and local information (:mod:`evy.console.operations`) are
mounted when their modules are installed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from evy.console import api, operations, pages, tiles
from evy.console.web import Console, Refused, WebConsole, refused, secure

log = logging.getLogger("evy.console")

STATIC = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}

Handler = Callable[[Any, Request], Awaitable[Response]]


def _guarded(console: WebConsole, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(console, request)
        except Refused as error:
            return refused(console, request, error)
        except console.database_errors as error:  # busy, being salvaged or gone: say so, stay up
            log.error("database: %s", error)
            return refused(console, request, Refused(503, f"{console.database_unreadable}: {error}"))

    return endpoint


async def _static(console: WebConsole, request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC:
        raise Refused(404, "no such file")
    body = resources.files("evy.console").joinpath("static", name).read_bytes()
    response = secure(Response(body, media_type=STATIC[name]))
    response.headers["cache-control"] = "max-age=3600"
    return response


def create_app(console: Console) -> Starlette:
    def route(path: str, handler: Handler, methods: tuple[str, ...] = ("GET",)) -> Route:
        return Route(path, _guarded(console, handler), methods=list(methods))

    routes = [
        route("/login", pages.login_page),
        route("/login", pages.login, ("POST",)),
        route("/logout", pages.logout, ("POST",)),
        route("/", pages.board),
        route("/board/rows", pages.board_rows),
        route("/cases/{code}", pages.case_page),
        route("/cases/{code}/thread", pages.thread_items),
        route("/cases/{code}/{action:str}", pages.case_action, ("POST",)),
        route("/map", pages.map_page),
        route("/tiles/{z}/{x}/{y}.{ext}", tiles.tile),
        route("/audit", pages.audit_page),
        route("/export.{format:str}", _export),
        route("/static/{name}", _static),
        route("/api/cases", api.list_cases),
        route("/api/cases/{code}", api.get_case),
        route("/api/cases/{code}/{action:str}", api.act, ("POST",)),
        route("/api/segments", api.count_segments),
    ]
    routes += operations.routes(console, route)
    return Starlette(routes=routes)


async def _export(console: Console, request: Request) -> Response:
    if request.path_params["format"] not in ("csv", "geojson"):
        raise Refused(404, "export as .csv or .geojson")
    return await pages.export_cases(console, request)

