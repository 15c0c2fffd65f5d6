"""Verified emergency protocol texts and emergency numbers."""

from evy.protocols.library import Protocol, for_triage, keys, languages, lookup, name_the_number, phrase
from evy.protocols.numbers import emergency_number

__all__ = ["Protocol", "emergency_number", "for_triage", "keys", "languages", "lookup", "name_the_number", "phrase"]
