"""Apply a verified downlink message, through the code the console and the shipped data already use:

- ``localinfo``: a fact set as the console sets one (:func:`evy.localinfo.answer.set_fact`);
- ``broadcast``: queued as the console queues one (:func:`evy.broadcast.send.queue`): opt-outs, the pace
  (``broadcast.send_interval``), the lowest priority and the length limit all hold;
- ``protocols``: a whole language file, checked as the shipped library (:mod:`evy.protocols.updates`),
  written atomically and used from the next start;
- ``knowledge``: one knowledge-base file, checked as a shipped one, written atomically; the index is
  rebuilt with it at the next start;
- ``config``: settings in ``REMOTE_SETTINGS`` only, each validated by its row, kept in the updates file the
  config loader reads at the next start.

Everything is checked before anything is written: a :class:`Refused` leaves the kit as it was. A message
applied twice (a redelivery after a crash before its record) changes nothing the second time: a fact or a
broadcast carries the message's marker, and files are rewritten with the same bytes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evy.config.core import updates_dir
from evy.config.loader import UPDATES_FILE
from evy.downlink.envelope import Envelope, finite
from evy.downlink.settings import REMOTE_SETTINGS
from evy.errors import ConfigError, EvyError
from evy.files import atomic_write, parse_toml, toml_document
from evy.store import Store
from evy.store import downlink as store_downlink

if TYPE_CHECKING:
    from evy.config import Config


class Refused(EvyError):
    """A downlink message the kit does not apply; the message is the one-line reason reported to the cell."""


def marker(envelope: Envelope) -> str:
    """What a fact or broadcast made by this message is marked with (``updated_by`` / ``created_by``)."""
    return f"hq:{envelope.signer}:{envelope.seq}"


def _fields(payload: dict[str, Any], required: dict[str, type | tuple[type, ...]],
            optional: dict[str, type | tuple[type, ...]]) -> dict[str, Any]:
    unknown = sorted(set(payload) - set(required) - set(optional))
    if unknown:
        raise Refused(f"payload: unknown field {unknown[0]!r}")
    for name, kind in {**required, **optional}.items():
        if name not in payload:
            if name in required:
                raise Refused(f"payload: {name} is missing")
            continue
        value = payload[name]
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            raise Refused(f"payload: {name} has the wrong type ({type(value).__name__})")
    return payload


def apply_localinfo(envelope: Envelope, store: Store, config: Config, now: float) -> str:
    from evy.localinfo.answer import set_fact
    from evy.localinfo.topics import LocalInfoError

    payload = _fields(envelope.payload, {"topic": str, "text": str, "expires_at": (int, float)}, {"language": str})
    if not finite(payload["expires_at"]):
        raise Refused("payload: expires_at is not a time")
    done = store_downlink.fact_made_by(store, marker(envelope))
    if done is not None:
        return f"local information {done} (set before)"
    try:
        fact = set_fact(store, payload["topic"], payload["text"], float(payload["expires_at"]),
                        language=payload.get("language", ""), updated_by=marker(envelope), now=now)
    except LocalInfoError as exc:
        raise Refused(f"local information: {exc}") from None
    return f"local information {fact} on {payload['topic']}"


def apply_broadcast(envelope: Envelope, store: Store, config: Config, now: float) -> str:
    from evy.broadcast.send import Audience, BroadcastError, queue

    payload = _fields(envelope.payload, {"text": str},
                      {"audience": str, "hours": (int, float), "expires_at": (int, float), "alert": bool})
    expires_at = payload.get("expires_at")
    if expires_at is not None and (not finite(expires_at) or expires_at <= now):
        raise Refused("broadcast: expired before it arrived")
    audience = payload.get("audience", str(Audience.SUBSCRIBERS))
    if audience not in tuple(Audience):
        raise Refused(f"broadcast: audience {audience!r} is not one of {', '.join(Audience)}")
    done = store_downlink.broadcast_made_by(store, marker(envelope))
    if done is not None:
        return f"broadcast {done} (queued before)"
    hours = payload.get("hours")
    try:
        broadcast = queue(store, config, payload["text"], audience, None if hours is None else float(hours),
                          created_by=marker(envelope), now=now, alert=payload.get("alert", False))
    except BroadcastError as exc:
        raise Refused(f"broadcast: {exc}") from None
    return f"broadcast {broadcast} to {audience}"


def apply_protocols(envelope: Envelope, store: Store, config: Config, now: float) -> str:
    from evy.protocols import updates
    from evy.protocols.errors import ProtocolError

    payload = _fields(envelope.payload, {"language": str, "library": str}, {})
    language = payload["language"]
    try:
        updates.check(language, payload["library"], f"protocols {language}")
    except ProtocolError as exc:
        raise Refused(str(exc)) from None
    updates.keep(updates_dir(config["data_dir"]) / "protocols", language, payload["library"])
    return f"protocol library {language} kept; used from the next start"


def apply_knowledge(envelope: Envelope, store: Store, config: Config, now: float) -> str:
    from evy.rag.corpus import check_update
    from evy.rag.errors import KnowledgeBaseError

    payload = _fields(envelope.payload, {"language": str, "name": str, "markdown": str}, {})
    language, name = payload["language"], payload["name"]
    try:
        chunks = check_update(language, name, payload["markdown"], f"knowledge {language}/{name}")
    except KnowledgeBaseError as exc:
        raise Refused(str(exc)) from None
    atomic_write(updates_dir(config["data_dir"]) / "knowledge" / language / f"{name}.md", payload["markdown"],
                 mode=0o644)
    return f"knowledge {language}/{name} kept ({len(chunks)} passages); indexed at the next start"


def apply_config(envelope: Envelope, store: Store, config: Config, now: float) -> str:
    from evy.config.table import TABLE

    settings = _fields(envelope.payload, {"settings": dict}, {})["settings"]
    if not settings:
        raise Refused("config: no settings")
    refused = sorted(set(settings) - set(REMOTE_SETTINGS))
    if refused:
        raise Refused(f"config: {refused[0]} may not be changed by the cell (allowed: {', '.join(REMOTE_SETTINGS)})")
    try:
        TABLE.parse_values(settings, "config: ")
    except ConfigError as exc:
        raise Refused(str(exc)) from None
    path = updates_dir(config["data_dir"]) / UPDATES_FILE
    kept = _kept_settings(path)
    kept.update(settings)
    nested: dict[str, dict[str, Any]] = {}
    for key, value in sorted(kept.items()):
        section, _, name = key.rpartition(".")
        nested.setdefault(section, {})[name] = value
    atomic_write(path, toml_document(nested), mode=0o644)
    return f"settings {', '.join(sorted(settings))} kept; used from the next start"


def _kept_settings(path: Path) -> dict[str, Any]:
    """The settings an earlier update kept (those still allowed); a file that no longer reads is replaced."""
    from evy.config.table import TABLE

    try:
        flat = dict(TABLE.flatten(parse_toml(path.read_text("utf-8"), str(path), ConfigError)))
    except (OSError, UnicodeDecodeError, ConfigError):
        return {}
    return {key: value for key, value in flat.items() if key in REMOTE_SETTINGS}


APPLY: dict[str, Callable[[Envelope, Store, Any, float], str]] = {
    "localinfo": apply_localinfo, "broadcast": apply_broadcast, "protocols": apply_protocols,
    "knowledge": apply_knowledge, "config": apply_config,
}


def apply(envelope: Envelope, store: Store, config: Config, now: float | None = None) -> str:
    """Apply a verified message; what changed, in one line. :class:`Refused` when it cannot be applied."""
    return APPLY[envelope.kind](envelope, store, config, time.time() if now is None else now)
