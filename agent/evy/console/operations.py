"""The console's pages over the operations modules: kit health with its "needs attention" list, `/metrics`
and `/health` for machines, broadcasts (audience, cost before sending, delivery) and local information.

Those modules (`evy.health`, `evy.metrics`, `evy.broadcast`, `evy.localinfo`) hold the logic and no web
code; each page here is mounted only when its module is installed (:func:`routes`).
"""

from __future__ import annotations

import importlib.util
import secrets
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from evy.console.pages import _address, _back
from evy.console.web import Console, ExtraPage, Refused, secure
from evy.store import console as console_store

AUDIENCES = {"subscribers": "people who texted JOIN", "recent": "everyone who texted in the last hours",
             "open_cases": "the senders of open cases"}
LANGUAGE_NAMES = {"": "every language", "en": "English", "es": "Spanish", "fr": "French", "pt": "Portuguese",
                  "sw": "Swahili", "ht": "Haitian Creole"}


def available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


# -- for machines -------------------------------------------------------------------------------------------

async def metrics(console: Console, request: Request) -> Response:
    """Prometheus text format; counts only (no sender data), so a scraper needs no login."""
    from evy.metrics.collector import CONTENT_TYPE_LATEST, render

    return Response(render(console.store.get(), console.config), media_type=CONTENT_TYPE_LATEST)


async def health(console: Console, request: Request) -> Response:
    from evy.health.monitor import health_json

    status, body = health_json(console.store.get(), console.config)
    return secure(JSONResponse(body, status))


# -- kit health -------------------------------------------------------------------------------------------

def _kit(console: Console) -> tuple[Any, list]:
    from evy.health import attention, collect

    found = collect(console.store.get(), console.config)
    return found, attention(found)


async def kit_page(console: Console, request: Request) -> Response:
    console.require(request)
    found, items = _kit(console)
    return console.page(request, "kit.html", health=found.as_json(), attention=items)


async def kit_json(console: Console, request: Request) -> Response:
    console.require(request)
    found, items = _kit(console)
    return secure(JSONResponse({**found.as_json(), "attention": [item.as_json() for item in items]}))


# -- broadcasts -------------------------------------------------------------------------------------------------

def _broadcast_fields(fields: dict[str, str]) -> tuple[str, str, float | None]:
    text = fields.get("text", "").replace("\r\n", "\n").strip()
    audience = fields.get("audience", "")
    if audience not in AUDIENCES:
        raise Refused(400, f"choose an audience: {', '.join(AUDIENCES)}")
    hours_text = fields.get("hours", "").strip()
    try:
        hours = float(hours_text) if hours_text and audience == "recent" else None
    except ValueError:
        raise Refused(400, f"hours: {hours_text!r} is not a number") from None
    return text, audience, hours


async def broadcasts_page(console: Console, request: Request, *, preview: dict | None = None,
                          status: int = 200) -> Response:
    from evy.broadcast import send
    from evy.store import broadcasts as broadcast_store

    console.require(request)
    store = console.store.get()
    recent = [send.status(store, item.id) for item in broadcast_store.recent(store, limit=20)]
    return console.page(request, "broadcasts.html", status, audiences=AUDIENCES, recent=recent, preview=preview,
                        subscribers=broadcast_store.subscriber_count(store),
                        recent_hours=console.config["broadcast.recent_hours"])


async def broadcast_preview(console: Console, request: Request) -> Response:
    """The cost before sending: the operator confirms this exact text and audience on the next form."""
    from evy.broadcast import send

    session = console.require(request, act=True)
    text, audience, hours = _broadcast_fields(await console.form(request, session))
    try:
        cost = send.estimate(console.store.get(), console.config, text, audience, hours)
    except send.BroadcastError as exc:
        raise Refused(400, str(exc)) from None
    return await broadcasts_page(console, request, preview={"text": text, "audience": audience, "hours": hours,
                                                            "cost": cost, "key": secrets.token_urlsafe(16)})


async def broadcast_send(console: Console, request: Request) -> Response:
    from evy.broadcast import send

    session = console.require(request, act=True)
    fields = await console.form(request, session)
    text, audience, hours = _broadcast_fields(fields)
    store = console.store.get()
    try:
        cost = send.estimate(store, console.config, text, audience, hours)
        with store.transaction() as db:  # the form's one-time key: a second click sends nothing
            claimed = console_store.claim_action(
                db, key=fields.get("key") or None, at=time.time(), actor=session.account, address=_address(request),
                action="broadcast", detail=f"{audience}: {cost.recipients} people, {cost.total_sms} SMS: {text}")
        if not claimed:
            return _back("/broadcasts", "this broadcast was already sent")
        broadcast_id = send.queue(store, console.config, text, audience, hours, created_by=session.account)
    except send.BroadcastError as exc:
        raise Refused(400, str(exc)) from None
    return _back("/broadcasts", f"broadcast {broadcast_id} queued: {cost.total_sms} SMS to {cost.recipients} people")


async def broadcast_cancel(console: Console, request: Request) -> Response:
    from evy.broadcast import send

    session = console.require(request, act=True)
    await console.form(request, session)
    number = int(request.path_params["number"])
    try:
        cancelled = send.cancel(console.store.get(), number)
    except send.BroadcastError as exc:
        raise Refused(404, str(exc)) from None
    console_store.audit(console.store.get(), at=time.time(), actor=session.account, address=_address(request),
                        action="broadcast-cancel", detail=f"broadcast {number}: {cancelled} SMS cancelled")
    return _back("/broadcasts", f"broadcast {number}: {cancelled} SMS cancelled")


# -- local information -----------------------------------------------------------------------------------------

async def local_page(console: Console, request: Request) -> Response:
    from evy.localinfo.topics import TOPICS
    from evy.store import localinfo as localinfo_store

    console.require(request)
    return console.page(request, "local.html", facts=localinfo_store.listing(console.store.get()), topics=TOPICS,
                        languages=LANGUAGE_NAMES)


async def local_add(console: Console, request: Request) -> Response:
    from evy.localinfo.answer import set_fact
    from evy.localinfo.topics import LocalInfoError

    session = console.require(request, act=True)
    fields = await console.form(request, session)
    try:
        hours = float(fields.get("hours", ""))
    except ValueError:
        raise Refused(400, "valid for how many hours? a number") from None
    now = time.time()
    try:
        fact_id = set_fact(console.store.get(), fields.get("topic", ""), fields.get("text", ""), now + hours * 3600,
                           language=fields.get("language", ""), updated_by=session.account, now=now)
    except LocalInfoError as exc:
        raise Refused(400, str(exc)) from None
    console_store.audit(console.store.get(), at=now, actor=session.account, address=_address(request),
                        action="local-info", detail=f"{fields.get('topic')} #{fact_id}: {fields.get('text', '')}")
    return _back("/local", "local information saved")


async def local_remove(console: Console, request: Request) -> Response:
    from evy.localinfo.answer import remove_fact
    from evy.localinfo.topics import LocalInfoError

    session = console.require(request, act=True)
    await console.form(request, session)
    number = int(request.path_params["number"])
    try:
        remove_fact(console.store.get(), number)
    except LocalInfoError as exc:
        raise Refused(404, str(exc)) from None
    console_store.audit(console.store.get(), at=time.time(), actor=session.account, address=_address(request),
                        action="local-info-removed", detail=f"#{number}")
    return _back("/local", "removed")


def routes(console: Console, route: Callable[..., Any]) -> list:
    """The routes of the operations modules that are installed, and their menu entries."""
    found = []
    if available("evy.metrics.collector"):
        found.append(route("/metrics", metrics))
    if available("evy.health.monitor"):
        found += [route("/health", health), route("/kit", kit_page), route("/api/kit", kit_json)]
        console.extra_pages.append(ExtraPage("/kit", "Kit health"))
    if available("evy.broadcast.send"):
        found += [route("/broadcasts", broadcasts_page), route("/broadcasts/preview", broadcast_preview, ("POST",)),
                  route("/broadcasts", broadcast_send, ("POST",)),
                  route("/broadcasts/{number:int}/cancel", broadcast_cancel, ("POST",))]
        console.extra_pages.append(ExtraPage("/broadcasts", "Broadcasts"))
    if available("evy.localinfo.answer"):
        found += [route("/local", local_page), route("/local", local_add, ("POST",)),
                  route("/local/{number:int}/remove", local_remove, ("POST",))]
        console.extra_pages.append(ExtraPage("/local", "Local information"))
    return found
