"""Set and give local information. The console calls :func:`set_fact` / :func:`update_fact` /
:func:`remove_fact`; the conversation calls :func:`local_answer` for a routine (non-emergency) message."""

from __future__ import annotations

import time

from evy.localinfo.topics import TOPICS, LocalInfoError, matched_topics, vocabulary
from evy.store import Store
from evy.store import localinfo as store
from evy.store.localinfo import Fact

MAX_TEXT = 300  # characters of one fact: two SMS at most, so several topics still fit a reply
LANGUAGES_OF_FACTS = ("", "en", "es", "fr", "ht", "pt", "sw")


def _checked(text: str, expires_at: float, now: float) -> str:
    text = " ".join(text.split())
    if not text:
        raise LocalInfoError("the text is empty")
    if len(text) > MAX_TEXT:
        raise LocalInfoError(f"the text is {len(text)} characters; at most {MAX_TEXT}")
    if expires_at <= now:
        raise LocalInfoError("the expiry is in the past: set when this stops being true")
    return text


def set_fact(store_: Store, topic: str, text: str, expires_at: float, *, language: str = "",
             updated_by: str | None = None, now: float | None = None) -> int:
    """Keep a fact; its id. ``language`` '' gives it to every sender, else only to those writing in it."""
    now = time.time() if now is None else now
    if topic not in TOPICS:
        raise LocalInfoError(f"unknown topic {topic!r}; topics are {', '.join(TOPICS)}")
    if language not in LANGUAGES_OF_FACTS:
        raise LocalInfoError(f"unknown language {language!r}; use one of {', '.join(filter(None, LANGUAGES_OF_FACTS))}"
                             " or none for every language")
    return store.add(store_, topic=topic, language=language, text=_checked(text, expires_at, now),
                     expires_at=expires_at, updated_by=updated_by, now=now)


def update_fact(store_: Store, fact_id: int, text: str, expires_at: float, *, updated_by: str | None = None,
                now: float | None = None) -> None:
    now = time.time() if now is None else now
    if not store.update(store_, fact_id, text=_checked(text, expires_at, now), expires_at=expires_at,
                        updated_by=updated_by, now=now):
        raise LocalInfoError(f"no local information {fact_id}")


def remove_fact(store_: Store, fact_id: int) -> None:
    if not store.remove(store_, fact_id):
        raise LocalInfoError(f"no local information {fact_id}")


def ago(seconds: float) -> str:
    minutes = max(0, int(seconds // 60))
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} d"


def compose(facts: list[Fact], language: str, now: float) -> str:
    """One line per fact: the topic's label, the operator's text, how long ago it was updated."""
    words = vocabulary(language)
    return "\n".join(f"{words.labels[fact.topic]}: {fact.text} ({words.updated.format(ago=ago(now - fact.updated_at))})"
                     for fact in facts)


def local_answer(store_: Store, text: str, language: str, now: float | None = None) -> str | None:
    """The local information ``text`` asks about, in ``language``; None when it asks about none that is
    set and unexpired. The caller gives it only for a message that is not an emergency."""
    topics = matched_topics(text)
    if not topics:
        return None
    now = time.time() if now is None else now
    facts = store.current(store_, topics, language, now)
    return compose(facts, language, now) if facts else None
