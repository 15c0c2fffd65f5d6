"""The fleet console's pages and JSON: every kit's cases on one board (filter by kit, status, category, time)
and one map, a case with its thread, one person across kits, fleet health with stale kits first, kit groups,
sends to a kit, a group or all, and the audit log. Login, logout and static files are the kit console's own.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from evy.console import geo
from evy.console.app import Handler, _guarded, _static
from evy.console.pages import _address, _back, login, login_page, logout
from evy.console.web import Refused, filters, secure
from evy.hq import groups, outbox
from evy.hq.console import FleetConsole
from evy.hq.db import FleetCase

BOARD_ROWS = 200
# One colour per kit on the map (SVG fill attributes: the CSP allows no inline style); the legend names them.
KIT_COLOURS = ("#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#4e342e", "#ad1457")
LANGUAGES = {"": "every language", "en": "English", "es": "Spanish", "fr": "French", "pt": "Portuguese",
             "sw": "Swahili", "ht": "Haitian Creole"}


def _chosen_kits(request: Request) -> list[str]:
    return [kit for kit in request.query_params.getlist("kit") if kit]


def _query(request: Request) -> str:
    from urllib.parse import urlencode

    return urlencode(list(request.query_params.multi_items()))


def _board_context(console: FleetConsole, request: Request) -> dict[str, Any]:
    statuses, category, since, chosen = filters(request.query_params)
    kits = _chosen_kits(request)
    rows = console.database.board(BOARD_ROWS + 1, kits=kits, statuses=[str(s) for s in statuses or []] or None,
                                  category=category, since=since)
    linked = {person["sender"]: person["kits"] for person in console.database.people_on_several_kits()}
    return {"rows": rows[:BOARD_ROWS], "more": len(rows) > BOARD_ROWS, "linked": linked, "chosen_kits": kits,
            **chosen}


async def board(console: FleetConsole, request: Request) -> Response:
    from evy.cases.state import Status

    console.require(request)
    return console.page(request, "fleet_board.html", statuses=[str(s) for s in Status],
                        categories=console.database.categories(), kit_names=console.database.kit_names(),
                        counts=console.database.counts_by_status(_chosen_kits(request) or None),
                        query=_query(request), **_board_context(console, request))


async def board_rows(console: FleetConsole, request: Request) -> Response:
    console.require(request)
    return console.fragment("fleet_board_rows.html", **_board_context(console, request))


async def case_page(console: FleetConsole, request: Request) -> Response:
    console.require(request)
    kit, number = request.path_params["kit"], request.path_params["number"]
    case = console.database.case(kit, number)
    if case is None:
        raise Refused(404, f"no case {number} from {kit!r}")
    others = [other for other in console.database.linked(case.sender) if (other.kit, other.case_id) != (kit, number)]
    return console.page(request, "fleet_case.html", case=case, thread=console.database.thread(kit, number),
                        others=others, relays=console.database.case_relays(kit, number))


async def person_page(console: FleetConsole, request: Request) -> Response:
    console.require(request)
    sender = request.query_params.get("sender", "")
    cases = console.database.linked(sender)
    if not sender or not cases:
        raise Refused(404, "no cases from that number")
    return console.page(request, "fleet_person.html", sender=sender, cases=cases,
                        kits=sorted({case.kit for case in cases}))


async def map_page(console: FleetConsole, request: Request) -> Response:
    console.require(request)
    kits = _chosen_kits(request)
    rows = console.database.board(100_000, kits=kits, statuses=list(_open_statuses()))
    placed = [case for case in rows if case.lat is not None and case.lon is not None]
    names = console.database.kit_names()
    colours = {kit: KIT_COLOURS[index % len(KIT_COLOURS)] for index, kit in enumerate(names)}
    plot, points = None, []
    if placed:
        centre = ((min(c.lat for c in placed) + max(c.lat for c in placed)) / 2,
                  (min(c.lon for c in placed) + max(c.lon for c in placed)) / 2)
        plot = geo.plot(centre, [(c.lat, c.lon, f"{c.kit} {_code(c)}", _case_href(c), c.priority) for c in placed])
        points = [(point, case.kit, colours.get(case.kit, KIT_COLOURS[0])) for point, case in zip(plot.points, placed,
                                                                                                 strict=True)]
    return console.page(request, "fleet_map.html", plot=plot, points=points, unplaced=len(rows) - len(placed),
                        kit_names=names, chosen_kits=kits, colours=colours)


def _open_statuses() -> tuple[str, ...]:
    from evy.hq.db import OPEN

    return OPEN


def _code(case: FleetCase) -> str:
    from evy.cases.code import case_code

    return case_code(case.case_id)


def _case_href(case: FleetCase) -> str:
    return f"/kits/{case.kit}/cases/{case.case_id}"


def _figure(value: Any, unit: str = "") -> str:
    if isinstance(value, bool) or value is None:
        return "–" if value is None else ("yes" if value else "no")
    if isinstance(value, int | float):
        return f"{value:g}{unit}"
    return str(value)[:80]


def health_row(kit: dict[str, Any]) -> dict[str, str]:
    """A kit's latest health and metrics as text for the table; a kit's snapshot is trusted for nothing."""
    health = kit["health"] if isinstance(kit["health"], dict) else {}
    metrics = kit["metrics"] if isinstance(kit["metrics"], dict) else {}
    attention = health.get("attention") if isinstance(health.get("attention"), list) else []
    problems = [f"{item.get('severity', '')}: {item.get('problem', '')}" for item in attention
                if isinstance(item, dict)]
    uplink = health.get("uplink") if isinstance(health.get("uplink"), dict) else {}
    cases = metrics.get("cases_by_status") if isinstance(metrics.get("cases_by_status"), dict) else {}
    return {"status": _figure(health.get("status")) if health else "–",
            "modem": f"{_figure(health.get('modem'))}, {_figure(health.get('signal_dbm'), ' dBm')}" if health else "–",
            "battery": _figure(health.get("battery_pct"), "%"), "queued": _figure(health.get("queued_replies")),
            "uplink": _figure(uplink.get("queued")), "attention": "; ".join(problems) or "–",
            "sent": _figure(metrics.get("sent")), "first_reply": _figure(metrics.get("first_reply_mean_s"), " s"),
            "cases": ", ".join(f"{status} {_figure(n)}" for status, n in cases.items()) or "–"}


async def kits_page(console: FleetConsole, request: Request) -> Response:
    console.require(request)
    kits = sorted(console.kits(), key=lambda kit: (not kit["stale"], kit["kit"]))
    return console.page(request, "fleet_kits.html", kits=[(kit, health_row(kit)) for kit in kits],
                        groups=groups.groups(console.database), stale_hours=console.stale_after / 3600,
                        rejected_count=console.database.counts()["rejected"],
                        rejected=console.database.rejected(limit=20))


# -- sending to kits -------------------------------------------------------------------------------------------

def _targets(console: FleetConsole) -> list[tuple[str, str]]:
    found = [(outbox.EVERY_KIT, "every kit")]
    found += [(f"group:{name}", f"group {name} ({', '.join(kits)})")
              for name, kits in groups.groups(console.database).items()]
    found += [(f"kit:{kit}", f"kit {kit}") for kit in console.database.kit_names()]
    return found


async def send_page(console: FleetConsole, request: Request, status: int = 200) -> Response:
    from evy.localinfo.topics import TOPICS

    console.require(request)
    return console.page(request, "fleet_send.html", status, targets=_targets(console), topics=TOPICS,
                        languages=LANGUAGES, audiences=outbox.AUDIENCES, recent=outbox.recent(console.database),
                        publishing=console.publisher is not None and console.publisher.connected.is_set())


def _number(text: str | None, what: str) -> float | None:
    if not text or not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise Refused(400, f"{what}: {text!r} is not a number") from None


async def send(console: FleetConsole, request: Request) -> Response:
    session = console.require(request, act=True)
    fields = await console.form(request, session)
    kind, target = fields.get("kind", ""), fields.get("target", "")
    if kind == "broadcast":
        payload: dict[str, Any] = {"text": fields.get("text", ""), "audience": fields.get("audience"),
                                   "hours": _number(fields.get("hours"), "hours")}
    else:
        payload = {"text": fields.get("text", ""), "topic": fields.get("topic"),
                   "language": fields.get("language", ""), "hours": _number(fields.get("valid_hours"), "valid for")}
    try:
        sent = outbox.send(console.database, console.publisher, kind, target, payload, signer=console.signer,
                           requested_by=session.account, key=fields.get("key") or None)
    except outbox.OutboxError as exc:
        raise Refused(400, str(exc)) from None
    if sent is None:
        return _back("/send", "this was already sent")
    console.audit(at=time.time(), actor=session.account, address=_address(request), action=f"send-{kind}",
                  detail=f"#{sent.request} to {target} ({len(sent.topics)} topics): {payload['text'][:200]}")
    return _back("/send", f"{kind} #{sent.request} sent to {target}: {len(sent.topics)} message(s)")


# -- groups ------------------------------------------------------------------------------------------------------

async def groups_page(console: FleetConsole, request: Request) -> Response:
    console.require(request)
    return console.page(request, "fleet_groups.html", groups=groups.groups(console.database),
                        kit_names=console.database.kit_names())


async def group_add(console: FleetConsole, request: Request) -> Response:
    session = console.require(request, act=True)
    fields = await console.form(request, session)
    body = await request.body()
    from urllib.parse import parse_qs

    chosen = [kit for kit in parse_qs(body.decode("utf-8", "replace")).get("kit", []) if kit]
    chosen += [kit.strip() for kit in fields.get("more", "").replace(",", " ").split() if kit.strip()]
    try:
        added = groups.add(console.database, fields.get("name", ""), chosen)
    except groups.GroupError as exc:
        raise Refused(400, str(exc)) from None
    name = fields.get("name", "").strip()
    console.audit(at=time.time(), actor=session.account, address=_address(request), action="group-add",
                  detail=f"{name}: {', '.join(chosen)}")
    return _back("/groups", f"group {name}: {added} kit(s) added")


async def group_remove(console: FleetConsole, request: Request) -> Response:
    session = console.require(request, act=True)
    fields = await console.form(request, session)
    name, kit = request.path_params["name"], fields.get("kit", "")
    try:
        if kit:
            groups.remove(console.database, name, kit)
        else:
            groups.delete(console.database, name)
    except groups.GroupError as exc:
        raise Refused(404, str(exc)) from None
    console.audit(at=time.time(), actor=session.account, address=_address(request), action="group-remove",
                  detail=f"{name}: {kit or 'the whole group'}")
    return _back("/groups", f"group {name}: {kit or 'deleted'}" + (" removed" if kit else ""))


async def audit_page(console: FleetConsole, request: Request) -> Response:
    console.require(request)
    return console.page(request, "fleet_audit.html", entries=console.database.audit_entries())


# -- JSON for other tools ------------------------------------------------------------------------------------------

def _json(body: Any) -> Response:
    return secure(JSONResponse(json.loads(json.dumps(body, default=str))))


async def api_fleet(console: FleetConsole, request: Request) -> Response:
    console.require(request)
    kits = console.kits()
    return _json({**console.database.counts(), "stale": [kit["kit"] for kit in kits if kit["stale"]], "kits": kits,
                  "people_on_several_kits": console.database.people_on_several_kits(),
                  "groups": groups.groups(console.database)})


async def api_cases(console: FleetConsole, request: Request) -> Response:
    console.require(request)
    return _json({"cases": [asdict(case) for case in _board_context(console, request)["rows"]]})


async def api_person(console: FleetConsole, request: Request) -> Response:
    console.require(request)
    return _json({"cases": [asdict(case) for case in console.database.linked(request.query_params.get("sender", ""))]})


async def health(console: FleetConsole, request: Request) -> Response:
    """For monitors, without a login: counts and states only (no number, no text)."""
    kits = console.kits()
    stale = sum(kit["stale"] for kit in kits)
    connected = console.publisher is not None and console.publisher.connected.is_set()
    waiting = len(outbox.unpublished(console.database))
    return _json({"status": "degraded" if stale or not connected else "ok", "kits": len(kits), "stale_kits": stale,
                  "broker_connected": connected, "downlink_waiting": waiting, **console.database.counts()})


def create_app(console: FleetConsole) -> Starlette:
    def route(path: str, handler: Handler, methods: tuple[str, ...] = ("GET",)) -> Route:
        return Route(path, _guarded(console, handler), methods=list(methods))

    return Starlette(routes=[
        route("/login", login_page),
        route("/login", login, ("POST",)),
        route("/logout", logout, ("POST",)),
        route("/", board),
        route("/board/rows", board_rows),
        route("/kits/{kit}/cases/{number:int}", case_page),
        route("/person", person_page),
        route("/map", map_page),
        route("/kits", kits_page),
        route("/send", send_page),
        route("/send", send, ("POST",)),
        route("/groups", groups_page),
        route("/groups", group_add, ("POST",)),
        route("/groups/{name}/remove", group_remove, ("POST",)),
        route("/audit", audit_page),
        route("/static/{name}", _static),
        route("/api/fleet", api_fleet),
        route("/api/cases", api_cases),
        route("/api/person", api_person),
        route("/health", health),
    ])
