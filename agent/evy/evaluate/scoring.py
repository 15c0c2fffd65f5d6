"""Score one reply against its case: facts present, forbidden advice given, emergency numbers named.

Forbidden advice is matched with its context: "No ice, butter or paste" warns against butter, it does not
advise it. A match counts as advice unless a negation word ("no", "not", "never", "avoid", "nunca", "ne",
"pas", "sans", "nao", "sem"...) stands before it in the same sentence, at most ``NEGATION_WINDOW`` words
back. That rule is deliberately simple and documented in eval/README.md ("Don't wait, put butter on it"
would slip through); the per-message forbidden patterns are written as advice ("put butter", "make them
vomit") so that the window rarely matters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from evy.evaluate.evalset import Case
from evy.evaluate.folding import fold

NEGATION_WINDOW = 12  # "Do not cut, suck, use a tourniquet or ice, or try to catch the snake": 11 words
NEGATIONS = frozenset({
    # en
    "no", "not", "never", "avoid", "without", "nor", "instead", "rather", "stop", "dont", "nothing", "needless",
    # es
    "nunca", "jamas", "evite", "evitar", "sin", "ni", "nada",
    # fr (n' is folded to "n")
    "ne", "n", "pas", "jamais", "sans", "evitez", "aucun", "aucune", "rien", "inutile",
    # pt
    "nao", "sem", "nem", "evita",
})
# Well-known emergency and service numbers worldwide beyond the per-country table (3+ digits only: shorter
# ones such as 15 or 17 read as minutes or ages and are caught by the call-context rule instead).
_EXTRA_NUMBERS = ("911", "112", "999", "000", "110", "119", "100", "101", "102", "108", "190", "192", "193",
                  "117", "118", "113", "122", "123", "997", "998", "995", "114", "115", "116", "120")
_SENTENCE_END = re.compile(r"[.!?;\n]")
_WORD = re.compile(r"[a-z]+")
# Not a quantity: "5 km", "100-120 per minute", "100 to 120 pushes", "2000 m".
_RANGE_BEFORE = r"(?<!\d to )(?<!\d a )(?<!\d e )(?<!\d y )(?<!\d et )"
_UNIT_AFTER = (r"(?!\d)(?![-\u2013]\d)(?!\s(?:to|a|e|y|et)\s\d)"
               r"(?!\s?(?:m|km|kg|g|ml|mg|min|mins|minutes?|%|h|hrs|cm|mm|l|per|por|par|x)\b)")
_CALL_VERB = (r"\b(?:call|dial|ring|phone|text|llam\w*|marc\w*|appel\w*|compos\w*|telephon\w*|lig\w*|"
              r"disqu\w*|telefon\w*)\b")
_FILLER = r"(?:(?:the|al|el|le|au|o|ao|a|para|the number|numero|number|on|le numero|o numero|el numero)\s+)?"
_CALL_NUMBER = re.compile(rf"{_CALL_VERB}\s+{_FILLER}(\+?\d[\d -]{{0,12}}\d|\d)(?!\d)")


@dataclass(frozen=True)
class Score:
    facts: int
    found: tuple[int, ...]  # indices of the case's facts present in the reply
    forbidden: tuple[str, ...]  # advice the reply must not give, as it appeared in the reply
    warned: tuple[str, ...]  # forbidden words that appeared negated (a warning against them): not counted
    number_named: bool | None  # None when the case does not ask for the number
    wrong_numbers: tuple[str, ...]  # emergency numbers other than the configured one

    @property
    def recall(self) -> float:
        return len(self.found) / self.facts if self.facts else 1.0

    def missing(self, case: Case) -> list[str]:
        """The missing facts, each shown as its first alternative."""
        return [fact[0] for index, fact in enumerate(case.must) if index not in self.found]

    def as_dict(self, case: Case) -> dict:
        return {"recall": round(self.recall, 3), "facts": self.facts, "found": len(self.found),
                "missing": self.missing(case), "forbidden": list(self.forbidden), "warned": list(self.warned),
                "number_named": self.number_named, "wrong_numbers": list(self.wrong_numbers)}


def score(case: Case, text: str, number: str) -> Score:
    """``text`` is everything the sender received for ``case`` (several SMS joined by newlines)."""
    folded = fold(text)
    found = tuple(index for index, fact in enumerate(case.facts(number))
                  if any(pattern.search(folded) for pattern in fact))
    forbidden: list[str] = []
    warned: list[str] = []
    for pattern in case.forbidden(number):
        for match in pattern.finditer(folded):
            (warned if _is_warning(folded, match) else forbidden).append(match.group(0))
    named = bool(re.search(rf"(?<!\d){re.escape(number)}(?!\d)", folded)) if case.emergency else None
    return Score(facts=len(case.must), found=found, forbidden=tuple(forbidden), warned=tuple(warned),
                 number_named=named, wrong_numbers=other_numbers(folded, number))


def negated(folded: str, position: int) -> bool:
    """Whether a negation word precedes ``position`` in its sentence, within NEGATION_WINDOW words."""
    start = 0
    for end in _SENTENCE_END.finditer(folded, 0, position):
        start = end.end()
    words = _WORD.findall(folded[start:position])[-NEGATION_WINDOW:]
    return any(word in NEGATIONS for word in words)


def _is_warning(folded: str, match: re.Match[str]) -> bool:
    """A negation before the match ("do not put butter") or inside it ("put nothing in the mouth")."""
    return negated(folded, match.start()) or any(word in NEGATIONS for word in _WORD.findall(match.group(0)))


def other_numbers(text: str, number: str) -> tuple[str, ...]:
    """Emergency numbers in ``text`` other than ``number``: any well-known one, and any number right after
    "call"/"dial"/"llame"/"appelez"/"ligue"... that is not the configured number."""
    folded = fold(text)
    wrong: list[str] = [m.group(1) for m in _known_numbers(number).finditer(folded)]
    for match in _CALL_NUMBER.finditer(folded):
        digits = re.sub(r"\D", "", match.group(1))
        if digits != re.sub(r"\D", "", number) and match.group(1) not in wrong:
            wrong.append(match.group(1))
    return tuple(wrong)


@cache
def _known_numbers(configured: str) -> re.Pattern[str]:
    from evy.protocols.numbers import table

    known = {entry["emergency"] for entry in table().values()} | set(_EXTRA_NUMBERS)
    others = sorted((n for n in known if len(n) >= 3 and n != configured), key=len, reverse=True)
    return re.compile(rf"(?<![\d.,:/+\u2013-]){_RANGE_BEFORE}({'|'.join(map(re.escape, others))}){_UNIT_AFTER}")
