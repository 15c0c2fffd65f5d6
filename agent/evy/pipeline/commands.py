"""STOP / START / HELP / JOIN / LEAVE: handled before anything else, only as an exact single word.

JOIN and LEAVE (broadcast subscriptions) are localised: their words come from ``evy/broadcast/data``. STOP
always wins: an opted-out sender's JOIN is ignored like any text, and STOP also ends a subscription.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache

from evy.broadcast import words as broadcast_words


class Command(StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"
    JOIN = "join"
    LEAVE = "leave"


_WORDS = {
    Command.STOP: {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "ARRET", "PARAR", "ALTO"},
    Command.START: {"START", "UNSTOP", "SUBSCRIBE", "YES", "INICIO", "DEMARRER"},
    Command.HELP: {"HELP", "INFO", "AYUDA", "AIDE", "AJUDA"},
}
_LOOKUP = {word: (command, "en") for command, words in _WORDS.items() for word in words}
MAX_WORD = 12


@cache
def _lookup() -> dict[str, tuple[Command, str]]:
    table = dict(_LOOKUP)
    for word, (action, language) in broadcast_words.lookup().items():
        if word in table:
            raise broadcast_words.WordsError(f"broadcast word {word!r} is already the {table[word][0]} command")
        table[word] = (Command(action), language)
    return table


def _find(text: str) -> tuple[Command, str] | None:
    word = broadcast_words.fold(text)
    if not word or " " in word or len(word) > MAX_WORD:
        return None
    return _lookup().get(word)


def parse_command(text: str) -> Command | None:
    """The command a message is, if it is exactly one command word (any case, accents, punctuation around)."""
    found = _find(text)
    return None if found is None else found[0]


def command_language(text: str) -> str:
    """The language of the command word ``text`` is (English for STOP/START/HELP and for no command)."""
    found = _find(text)
    return "en" if found is None else found[1]


def command_reply(command: Command, emergency_number: str, language: str = "en") -> str:
    if command is Command.STOP:
        return "EVY: you will get no more messages from this number. Text START to resume."
    if command is Command.START:
        return f"EVY: messages resumed. Text your emergency or question. Danger to life: call {emergency_number}."
    if command in (Command.JOIN, Command.LEAVE):
        return broadcast_words.confirmation(str(command), language, emergency_number)
    return (f"EVY emergency helper. Text what is happening and where, e.g. 'flood, 3 people on roof'. "
            f"Danger to life: call {emergency_number}. STOP to end.")
