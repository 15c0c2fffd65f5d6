"""STOP / START / HELP: handled before anything else, only as an exact single word."""

from __future__ import annotations

import unicodedata
from enum import StrEnum


class Command(StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"


_WORDS = {
    Command.STOP: {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "ARRET", "PARAR", "ALTO"},
    Command.START: {"START", "UNSTOP", "SUBSCRIBE", "YES", "INICIO", "DEMARRER"},
    Command.HELP: {"HELP", "INFO", "AYUDA", "AIDE", "AJUDA"},
}
_LOOKUP = {word: command for command, words in _WORDS.items() for word in words}


def parse_command(text: str) -> Command | None:
    """The command a message is, if it is exactly one command word (any case, accents, punctuation around)."""
    word = unicodedata.normalize("NFKD", text.strip().strip(".!?¡¿")).encode("ascii", "ignore").decode()
    if not word or " " in word or len(word) > 12:
        return None
    return _LOOKUP.get(word.upper())


def command_reply(command: Command, emergency_number: str) -> str:
    if command is Command.STOP:
        return "EVY: you will get no more messages from this number. Text START to resume."
    if command is Command.START:
        return f"EVY: messages resumed. Text your emergency or question. Danger to life: call {emergency_number}."
    return (f"EVY emergency helper. Text what is happening and where, e.g. 'flood, 3 people on roof'. "
            f"Danger to life: call {emergency_number}. STOP to end.")
