"""Multilingual triage: is a message an emergency, of which kind, how urgent, in which language, how sure.

Rules over a lexicon (one data file per language in ``data/``; adding a language is adding a file; guest
languages in ``data/guest/``) and a small learned model over the same hits and the message's words
(``data/learned/``, trained by ``python -m evy.triage.learn``).
"""

from evy.triage.classify import Mentions, Triage, mentions, triage
from evy.triage.lexicon import CATEGORIES, LANGUAGES

__all__ = ["CATEGORIES", "LANGUAGES", "Mentions", "Triage", "mentions", "triage"]
