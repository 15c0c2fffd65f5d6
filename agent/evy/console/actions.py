"""What an operator can do to a case, validated here whatever page or API call asked for it.

Each action is one transaction: the audit row (claimed with the form's one-time key, so a form sent twice
acts once), the change, and the SMS it queues in the agent's outbox, which the agent sends exactly once like
its own replies. A sender who texted STOP gets nothing: a reply is refused, a status SMS is left out.
"""

from __future__ import annotations

import time
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from evy.cases.code import case_code
from evy.cases.state import Case, Status, TransitionError, operator_move
from evy.config import Config
from evy.errors import EvyError
from evy.messages import Priority, Reply
from evy.pipeline.sender import enqueue_reply
from evy.sms import segments
from evy.sms.errors import CodecError
from evy.store import Store
from evy.store import console as console_store
from evy.store.db import GuardedConnection
from evy.store.optouts import is_opted_out

NOTE_CHARS = 2000


class ActionError(EvyError):
    """An action the console refuses; the message is shown to the operator as it is."""


@dataclass(frozen=True)
class Actor:
    account: str
    address: str


@dataclass(frozen=True)
class Outcome:
    done: bool  # False: the same form was sent before and already acted on
    message: str


@cache
def status_texts(language: str) -> dict[str, str]:
    folder = resources.files("evy.console").joinpath("data")
    name = f"{language}.toml" if folder.joinpath(f"{language}.toml").is_file() else "en.toml"
    return tomllib.loads(folder.joinpath(name).read_text("utf-8"))["status_sms"]


def status_sms(case: Case, status: Status) -> str | None:
    template = status_texts(case.language).get(str(status))
    return None if template is None else template.format(code=case_code(case.id))


def count(text: str) -> tuple[str, int, int]:
    """(encoding, SMS, characters) of an operator's text as it would be sent (no shortening, no substitution)."""
    encoding, parts = segments.count(text)
    return str(encoding), parts, len(text)


def _case(db: GuardedConnection, case_id: int) -> Case:
    case = console_store.case_in(db, case_id)
    if case is None:
        raise ActionError(f"no case {case_id}")
    return case


def _queue(db: GuardedConnection, config: Config, case: Case, text: str, kind: str) -> int | None:
    """Queue ``text`` to the case's sender as one more answer to their latest message."""
    anchor = console_store.latest_message_id(db, case.id)
    if anchor is None:
        raise ActionError(f"case {case_code(case.id)} has no message to answer")
    priority = min(case.priority, Priority.COMMAND) if case.emergency else Priority.COMMAND
    try:  # exactly as the operator wrote it (fitted): never shortened, the reply path's encoding and counter
        queued = enqueue_reply(db, config, message_id=anchor, kind=kind, recipient=case.sender,
                               reply=Reply(text, priority=Priority(priority), fitted=True))
    except CodecError as exc:
        raise ActionError(f"cannot send this text: {exc}") from None
    console_store.note_sent(db, case.id, time.time())
    return queued


def reply(store: Store, config: Config, actor: Actor, case_id: int, text: str, key: str) -> Outcome:
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise ActionError("the reply is empty")
    _, parts, _ = count(text)
    if parts > config["console.reply_segments"]:
        raise ActionError(f"the reply takes {parts} SMS; at most {config['console.reply_segments']} "
                          "(console.reply_segments)")
    now = time.time()
    with store.transaction() as db:
        case = _case(db, case_id)
        if is_opted_out(store, case.sender):
            raise ActionError(f"{case.sender} texted STOP: nothing can be sent until they text START")
        if not console_store.claim_action(db, key=key, at=now, actor=actor.account, address=actor.address,
                                          action="reply", case_id=case.id, detail=text):
            return Outcome(False, "this reply was already sent")
        _queue(db, config, case, text, kind=f"operator:{key}")
    return Outcome(True, f"reply queued to {case.sender}")


def change_status(store: Store, config: Config, actor: Actor, case_id: int, status: str, notify: bool,
                  key: str) -> Outcome:
    try:
        wanted = Status(status)
    except ValueError:
        raise ActionError(f"unknown status {status!r}") from None
    now = time.time()
    with store.transaction() as db:
        case = _case(db, case_id)
        try:
            moved = operator_move(case, wanted, now)
        except TransitionError as exc:
            raise ActionError(str(exc)) from None
        if moved is case:
            return Outcome(False, f"the case is already {wanted}")
        text = status_sms(case, wanted) if notify and wanted in config["console.status_sms"] else None
        stopped = text is not None and is_opted_out(store, case.sender)
        detail = f"{case.status} -> {wanted}" + ("; SMS: " + text if text and not stopped else "") + (
            "; no SMS: the sender texted STOP" if stopped else "")
        if not console_store.claim_action(db, key=key, at=now, actor=actor.account, address=actor.address,
                                          action="status", case_id=case.id, detail=detail):
            return Outcome(False, "this change was already made")
        console_store.set_status(db, case.id, wanted, now)
        if text is not None and not stopped:
            _queue(db, config, case, text, kind=f"status:{key}")
    told = " and the sender told" if text and not stopped else (" (the sender texted STOP: no SMS)" if stopped else "")
    return Outcome(True, f"case {case_code(case.id)} is now {wanted}{told}")


def add_note(store: Store, actor: Actor, case_id: int, text: str, key: str) -> Outcome:
    text = text.strip()
    if not text:
        raise ActionError("the note is empty")
    if len(text) > NOTE_CHARS:
        raise ActionError(f"a note holds at most {NOTE_CHARS} characters")
    now = time.time()
    with store.transaction() as db:
        case = _case(db, case_id)
        if not console_store.claim_action(db, key=key, at=now, actor=actor.account, address=actor.address,
                                          action="note", case_id=case.id, detail=text):
            return Outcome(False, "this note was already added")
        console_store.add_note(db, case.id, now, actor.account, text)
    return Outcome(True, "note added")


def merge(store: Store, actor: Actor, source_id: int, target_id: int, key: str) -> Outcome:
    """Merge case ``source_id`` into ``target_id`` (the same incident reported twice)."""
    if source_id == target_id:
        raise ActionError("a case cannot be merged into itself")
    now = time.time()
    with store.transaction() as db:
        source, target = _case(db, source_id), _case(db, target_id)
        for case in (source, target):
            if case.status is Status.CLOSED:
                raise ActionError(f"case {case_code(case.id)} is closed; a closed thread is final")
        detail = f"{case_code(source.id)} merged into {case_code(target.id)}"
        if not console_store.claim_action(db, key=key, at=now, actor=actor.account, address=actor.address,
                                          action="merge", case_id=source.id, detail=detail):
            return Outcome(False, "these cases were already merged")
        console_store.claim_action(db, key=None, at=now, actor=actor.account, address=actor.address,
                                   action="merge", case_id=target.id, detail=detail)
        console_store.merge(db, source, target, now)
    return Outcome(True, detail)
