"""JOIN / LEAVE words: localised, exact single words, never confused with STOP/START/HELP."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evy.broadcast import words
from evy.pipeline.commands import _WORDS, Command, command_language, command_reply, parse_command

JOIN_WORDS = [(w, lang.code) for lang in words.languages().values() for w in lang.join]
LEAVE_WORDS = [(w, lang.code) for lang in words.languages().values() for w in lang.leave]


@pytest.mark.parametrize(("text", "command", "language"), [
    ("JOIN", Command.JOIN, "en"), ("join", Command.JOIN, "en"), (" Join! ", Command.JOIN, "en"),
    ("leave", Command.LEAVE, "en"), ("Unirme", Command.JOIN, "es"), ("salir.", Command.LEAVE, "es"),
    ("désinscrire", Command.LEAVE, "fr"), ("Rejoindre", Command.JOIN, "fr"), ("sair", Command.LEAVE, "pt"),
    ("ENTRAR", Command.JOIN, "pt"), ("join us", None, "en"), ("joined", None, "en"), ("leave me alone", None, "en"),
])
def test_join_and_leave_words(text, command, language):
    assert parse_command(text) == command
    assert command_language(text) == language


def test_languages_cover_the_commands_languages():
    assert {"en", "es", "fr", "pt"} <= set(words.languages())


@pytest.mark.parametrize(("word", "language"), JOIN_WORDS + LEAVE_WORDS)
def test_every_confirmation_is_in_the_words_language_and_names_the_number_on_join(word, language):
    command = parse_command(word)
    reply = command_reply(command, "999", command_language(word))
    assert reply == words.confirmation(str(command), language, "999")
    if command is Command.JOIN:
        assert "999" in reply
    assert len(reply) <= 160  # one SMS


def test_no_broadcast_word_is_a_stop_start_or_help_word():
    reserved = set().union(*_WORDS.values())
    assert not reserved & {w for w, _ in JOIN_WORDS + LEAVE_WORDS}


def _cased(word: str, data: st.DataObject) -> str:
    return "".join(c.lower() if data.draw(st.booleans()) else c for c in word)


@given(st.sampled_from(JOIN_WORDS + LEAVE_WORDS), st.data(), st.sampled_from(["", " ", ".", "!", "?", " \n"]))
def test_any_case_and_punctuation_around_a_word_keep_it(entry, data, around):
    word, language = entry
    text = around + _cased(word, data) + around
    assert parse_command(text) in (Command.JOIN, Command.LEAVE)
    assert command_language(text) == language


@given(st.text(max_size=40))
def test_parsing_any_text_never_fails_and_a_command_is_one_word(text):
    command = parse_command(text)
    if command is not None:
        assert " " not in words.fold(text)
        assert command_language(text) in words.languages()


@given(st.sampled_from(JOIN_WORDS + LEAVE_WORDS), st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1,
                                                            max_size=8))
def test_a_word_with_more_text_is_not_a_command(entry, extra):
    assert parse_command(f"{entry[0]} {extra}") is None
