"""The language data files compiled into one index the triage scans in a single pass.

A data file (``data/<language>.toml``) lists, in that language's SMS spelling:
``markers`` (common words that reveal the language), ``shorthand`` (SMS abbreviations to expand),
``distress`` (calls for help), ``life_threat`` (signs that a life is at stake), ``question`` (words of an
information request), the cues that a message reports no danger here and now: ``calm`` (thanks, jokes, spam,
chat), ``resolved`` (the danger is over: "he is fine now", "they fixed the leak"; unlike ``calm`` it settles
even a sign of a life at stake or a lost child), ``remote`` (news, somewhere else), ``hypothetical`` ("what
if", "in case", preparing), and
the cue that it does: ``now`` ("right now", "still"),
``[category.NAME]`` with ``words`` and ``critical`` (life-threatening) phrases, and
``[topic.NAME]`` with its ``category``, ``rank``, ``life_threatening`` flag, ``words`` and optionally
``needs``: phrases one of which must also be there for the topic to count (a fit is febrile with a fever),
``unless``: phrases that stop it counting (burning hot with a fever is no heat stroke), and ``urgent``: an
emergency even when asked as a question ("where do I take a child I found alone?").
Phrases are folded like messages (no accents, no apostrophes); a final ``*`` matches any word starting so.

A guest language (``data/guest/<language>.toml``) has the same shape but only the words that travel (help,
hazard names, a few markers) and ``answer_in``: the supported language its senders are answered in.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from evy.files import parse_language_file
from evy.triage.errors import LexiconError
from evy.triage.normalize import tokens

CATEGORIES = (
    "medical", "fire", "flood", "earthquake", "storm", "trapped", "violence", "hazmat",
    "missing_person", "shelter", "water_food", "other",
)
# Tie-break between equally scored categories: the one that kills faster first.
SEVERITY_ORDER = (
    "trapped", "fire", "violence", "medical", "hazmat", "flood", "earthquake", "storm",
    "missing_person", "water_food", "shelter", "other",
)
# Categories that are emergencies only when the sender says so (a plain question is an information request).
INFORMATIONAL = frozenset({"shelter", "water_food", "other"})

CUES = ("distress", "life_threat", "question", "calm", "resolved", "remote", "hypothetical", "now")
KINDS = ("marker", *CUES, "category", "critical", "topic", "needs", "unless")
FUZZY_MIN_LENGTH = 6  # shorter words are too close to each other ("glass"/"grass") to correct safely
MIN_STEM = 3
INFLECTED = frozenset({"distress", "life_threat", "category", "critical", "topic", "needs", "unless"})


@dataclass(frozen=True)
class Hit:
    language: str
    kind: str
    name: str  # category or topic name; the kind again for markers, distress, life_threat, question
    weight: int


@dataclass(frozen=True)
class Topic:
    name: str
    category: str
    rank: int
    life_threatening: bool
    urgent: bool = False


@dataclass
class Lexicon:
    languages: tuple[str, ...] = ()
    names: dict[str, str] = field(default_factory=dict)  # language code -> its own name ("Español")
    answer_in: dict[str, str] = field(default_factory=dict)  # guest language -> the supported one to answer in
    phrases: dict[tuple[str, ...], list[Hit]] = field(default_factory=lambda: defaultdict(list))
    stems: dict[str, list[Hit]] = field(default_factory=lambda: defaultdict(list))
    shorthand: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)  # "n" -> {"pt": ("nao",)}
    topics: dict[str, Topic] = field(default_factory=dict)
    conditional: set[str] = field(default_factory=set)  # topics with ``needs``
    excluded: set[str] = field(default_factory=set)  # topics with ``unless``
    vocabulary: set[str] = field(default_factory=set)  # every word of every phrase: never "corrected"
    keywords: set[str] = field(default_factory=set)  # the words a misspelling may be corrected to
    deletions: dict[str, tuple[str, int]] = field(default_factory=dict)  # word minus a letter -> word, where
    corrections: dict[str, str] = field(default_factory=dict)  # cache: misspelt word -> lexicon word
    longest_phrase: int = 1
    stem_lengths: tuple[int, ...] = ()


def _phrase_hits(lexicon: Lexicon, phrase: str, hit: Hit, where: str) -> None:
    words = tokens(phrase.rstrip("*"))
    if not words:
        raise LexiconError(f"{where}: empty phrase {phrase!r}")
    if phrase.endswith("*"):
        if len(words) != 1 or len(words[0]) < MIN_STEM:
            raise LexiconError(f"{where}: a stem must be one word of {MIN_STEM}+ letters, got {phrase!r}")
        lexicon.stems[words[0]].append(hit)
        return
    weighted = Hit(hit.language, hit.kind, hit.name, hit.weight * len(words))  # longer = more specific
    lexicon.phrases[tuple(words)].append(weighted)
    lexicon.vocabulary.update(words)
    if hit.kind not in ("marker", "question", "calm", "resolved", "remote", "hypothetical", "now", "needs",
                         "unless"):
        lexicon.keywords.update(words)
    lexicon.longest_phrase = max(lexicon.longest_phrase, len(words))


def _inflect(lexicon: Lexicon, language: str, data: dict) -> None:
    """A language whose verbs carry the person and tense as a prefix (Swahili a-me-zimia, he has fainted)
    lists them under ``[inflection]``: each phrase word that starts with one person and one tense also
    matches the same verb in every other (wa-me-zimia, they have fainted; a-li-zimia, he fainted). A form
    that is a phrase of its own in the file keeps its own meaning. Only what happens is inflected, not the
    cues, whose tense is their meaning ("alisema", he said, is news; "anasema", he says, is not)."""
    table = data.get("inflection")
    if not table:
        return
    where = f"triage/data/{language}.toml: inflection"
    persons = _strings(table.get("persons", []), f"{where}.persons")
    tenses = _strings(table.get("tenses", []), f"{where}.tenses")
    prefixes = sorted({person + tense for person in persons for tense in tenses}, key=len, reverse=True)
    own = {phrase for phrase, hits in lexicon.phrases.items() if any(hit.language == language for hit in hits)}
    for phrase in sorted(own):
        hits = [hit for hit in lexicon.phrases[phrase] if hit.language == language and hit.kind in INFLECTED]
        if not hits:
            continue
        for position, word in enumerate(phrase):
            prefix = next((start for start in prefixes if word.startswith(start)
                           and len(word) - len(start) >= MIN_STEM), None)
            if prefix is None:
                continue
            for other in prefixes:
                variant = (*phrase[:position], other + word[len(prefix):], *phrase[position + 1:])
                if variant in own:
                    continue
                lexicon.phrases.setdefault(variant, []).extend(hits)
                lexicon.vocabulary.update(variant)


def _strings(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise LexiconError(f"{where}: expected a list of strings")
    return value


def _add_language(lexicon: Lexicon, language: str, data: dict) -> None:
    _add_phrases(lexicon, language, data)
    _inflect(lexicon, language, data)


def _add_phrases(lexicon: Lexicon, language: str, data: dict) -> None:
    where = f"triage/data/{language}.toml"
    for kind in ("marker", *CUES):
        key = "markers" if kind == "marker" else kind
        for phrase in _strings(data.get(key, []), f"{where}: {key}"):
            _phrase_hits(lexicon, phrase, Hit(language, kind, kind, 1), f"{where}: {key}")
    for short, long in data.get("shorthand", {}).items():
        short = "".join(tokens(short))
        lexicon.shorthand.setdefault(short, {})[language] = tuple(tokens(long))
    for name, entry in data.get("category", {}).items():
        if name not in CATEGORIES:
            raise LexiconError(f"{where}: unknown category {name!r}; categories are {', '.join(CATEGORIES)}")
        for kind in ("words", "critical"):
            hit = Hit(language, "category" if kind == "words" else "critical", name, 1)
            for phrase in _strings(entry.get(kind, []), f"{where}: category.{name}.{kind}"):
                _phrase_hits(lexicon, phrase, hit, f"{where}: category.{name}")
    for name, entry in data.get("topic", {}).items():
        category = entry.get("category")
        if category not in CATEGORIES:
            raise LexiconError(f"{where}: topic.{name}: unknown category {category!r}")
        topic = Topic(name, category, int(entry.get("rank", 0)), bool(entry.get("life_threatening", False)),
                      bool(entry.get("urgent", False)))
        known = lexicon.topics.setdefault(name, topic)
        if known != topic:
            raise LexiconError(f"{where}: topic.{name} differs from its definition in another language")
        for phrase in _strings(entry.get("words", []), f"{where}: topic.{name}.words"):
            _phrase_hits(lexicon, phrase, Hit(language, "topic", name, 1), f"{where}: topic.{name}")
        for phrase in _strings(entry.get("needs", []), f"{where}: topic.{name}.needs"):
            _phrase_hits(lexicon, phrase, Hit(language, "needs", name, 1), f"{where}: topic.{name}")
            lexicon.conditional.add(name)
        for phrase in _strings(entry.get("unless", []), f"{where}: topic.{name}.unless"):
            _phrase_hits(lexicon, phrase, Hit(language, "unless", name, 1), f"{where}: topic.{name}")
            lexicon.excluded.add(name)


def _index_deletions(lexicon: Lexicon) -> None:
    for word in sorted(lexicon.keywords):
        if len(word) < FUZZY_MIN_LENGTH:
            continue
        for index in range(len(word)):
            lexicon.deletions.setdefault(word[:index] + word[index + 1:], (word, index))


def compile_lexicon(files: dict[str, str], guests: dict[str, str] | None = None) -> Lexicon:
    """Compile language data files (language code -> TOML text), and guest language files, into one index."""
    lexicon = Lexicon(languages=tuple(sorted(files)))
    for language, text in sorted(files.items()):
        data = parse_language_file(text, language, f"triage/data/{language}.toml", LexiconError)
        lexicon.names[language] = str(data.get("name", language))
        _add_language(lexicon, language, data)
    for language, text in sorted((guests or {}).items()):
        where = f"triage/data/guest/{language}.toml"
        data = parse_language_file(text, language, where, LexiconError)
        if data.get("answer_in") not in lexicon.languages:
            raise LexiconError(f"{where}: `answer_in` must be one of {', '.join(lexicon.languages)}")
        lexicon.answer_in[language] = data["answer_in"]
        lexicon.names[language] = str(data.get("name", language))
        _add_language(lexicon, language, data)
    lexicon.phrases = dict(lexicon.phrases)
    lexicon.stems = dict(lexicon.stems)
    _index_deletions(lexicon)  # before the stems join: a stem is no word to correct towards ("treat")
    lexicon.vocabulary.update(lexicon.stems)
    lexicon.stem_lengths = tuple(sorted({len(stem) for stem in lexicon.stems}))
    return lexicon


@cache
def default_lexicon() -> Lexicon:
    """Every language file shipped in ``evy/triage/data``."""
    files, guests = data_files()
    if not files:
        raise LexiconError("triage/data: no language files")
    return compile_lexicon(files, guests)


def data_files() -> tuple[dict[str, str], dict[str, str]]:
    """The shipped language files and guest language files: code -> TOML text."""
    folder = resources.files("evy.triage").joinpath("data")

    def read(where) -> dict[str, str]:
        if not where.is_dir():
            return {}
        return {item.name.removesuffix(".toml"): item.read_text("utf-8")
                for item in where.iterdir() if item.name.endswith(".toml")}

    return read(folder), read(folder.joinpath("guest"))


LANGUAGES = ("en", "es", "fr", "ht", "pt", "sw")  # shipped; default_lexicon().languages lists what is loaded
