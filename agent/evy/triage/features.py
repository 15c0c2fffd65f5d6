"""What the learned part of the triage sees of a message: its words, word pairs, word pieces and the
lexicon's findings.

Word pieces (character 4-grams of each word, with its edges marked) carry across typos, inflections and
the shared roots of related languages; word pairs keep "not breathing" apart from "breathing"; the lexicon's
hits (``category:fire``, ``topic:cpr``, ``cue:question``...) let one labelled message teach every phrase of
its kind, in every language. Names are short strings; the model file keys its weights by them.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

from evy.triage.lexicon import CUES, Hit

PIECE = 4
MIN_PIECE_WORD = 4  # shorter words are their own piece


def features(words: list[str], hits: Iterable[Hit], asks: str | None, rule: str) -> set[str]:
    """The feature names of a message: ``words`` after shorthand and spelling correction, the lexicon
    ``hits`` over them, ``asks`` (where it carries a question mark: "end", "before" more is told, or None)
    and the rules' verdict (``rule``: "life", "emergency" or "calm")."""
    found: set[str] = {"bias", f"rule:{rule}"}
    for word in words:
        found.add(f"w {word}")
        if len(word) >= MIN_PIECE_WORD:
            padded = f"<{word}>"
            found.update(f"p {padded[start:start + PIECE]}" for start in range(len(padded) - PIECE + 1))
    found.update(f"b {first} {second}" for first, second in pairwise(words))
    for hit in hits:
        if hit.kind in ("category", "critical", "topic"):
            if hit.weight:
                found.add(f"{hit.kind}:{hit.name}")
        elif hit.kind in CUES or hit.kind == "asks":
            found.add(f"cue:{hit.kind}")
            if hit.kind in ("question", "asks"):
                found.add(f"rule:{rule}&{hit.kind}")
    if asks:
        found.add("cue:?")
        found.add(f"cue:?{asks}")
        found.add(f"rule:{rule}&?{asks}")
    if len(words) <= 3:
        found.add("short")
    return found


EVIDENCE = ("topic", "category", "critical", "parent", "rule_topic", "rule_category", "life")


def evidence(hits: Iterable[Hit], topics: dict, rule_topic: str | None, rule_category: str | None
             ) -> dict[str, list[float]]:
    """For each protocol key the lexicon points at, how it does (in the order of ``EVIDENCE``): the weight
    of its own topic words, of its category words and critical phrases, of its parent category's words
    (a topic), whether the rules chose it, and whether a life-threatening topic of its was hit. The model
    weighs these alike for every key, so a protocol no labelled message shows is still found by its words.
    ``topics``: the lexicon's topic name -> Topic."""
    found: dict[str, list[float]] = {}

    def row(key: str) -> list[float]:
        return found.setdefault(key, [0.0] * len(EVIDENCE))

    for hit in hits:
        if hit.kind == "topic":
            row(hit.name)[0] += hit.weight
            if hit.weight and topics[hit.name].life_threatening:
                row(hit.name)[6] = 1.0
        elif hit.kind == "category":
            row(hit.name)[1] += hit.weight
        elif hit.kind == "critical":
            row(hit.name)[2] += hit.weight
    for key, values in list(found.items()):
        topic = topics.get(key)
        if topic is not None and topic.category in found:
            values[3] = found[topic.category][1] + found[topic.category][2]
    if rule_topic:
        row(rule_topic)[4] = 1.0
    elif rule_category and rule_category != "other":
        row(rule_category)[5] = 1.0
    for values in found.values():
        for index in range(4):
            values[index] = min(values[index], 3.0)
    return found
