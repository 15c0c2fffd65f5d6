"""Verified emergency protocols (first replies, next steps, contraindications) and emergency numbers."""

from evy.protocols.library import (
    ANSWER_CLASSES,
    Protocol,
    Step,
    alarming_words,
    answer_phrases,
    classify_answer,
    contraindications,
    for_triage,
    keys,
    languages,
    lookup,
    name_the_number,
    paths,
    phrase,
    stands_in_for,
    step,
)
from evy.protocols.numbers import emergency_number

__all__ = ["ANSWER_CLASSES", "Protocol", "Step", "alarming_words", "answer_phrases", "classify_answer",
           "contraindications", "emergency_number", "for_triage", "keys", "languages", "lookup",
           "name_the_number", "paths", "phrase", "stands_in_for", "step"]
