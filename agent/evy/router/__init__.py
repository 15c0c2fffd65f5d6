"""Rule-based, multilingual triage: is a message an emergency, of which kind, how urgent, in which language.

Each language is one data file in ``data/`` (``en.toml``, ``es.toml``...); adding a language is adding a file.
"""

from evy.router.lexicon import CATEGORIES, LANGUAGES
from evy.router.triage import Mentions, Triage, mentions, triage

__all__ = ["CATEGORIES", "LANGUAGES", "Mentions", "Triage", "mentions", "triage"]
