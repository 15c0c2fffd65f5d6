"""Triage one message: emergency or not, category, topic (which protocol), priority, language, confidence.

One pass over the message's words: SMS shorthand is expanded, misspelt words are corrected to the nearest
lexicon word (one edit away, for words of five letters or more), then every phrase of up to
``longest_phrase`` words is looked up. The rules decide from those hits alone (`_decide`); the learned
model (``model.py``), which sees the hits and the words, decides with them (`_combine`): it copes with
paraphrase and tells a report from a question, a joke or news. When it is unsure of the protocol it names
only the category (whose reply is the category's safe fallback), and when unsure of that, nothing specific.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from evy.messages import Priority
from evy.triage.features import evidence, features
from evy.triage.language import SURE_MARGIN, default_language_model
from evy.triage.lexicon import (
    CUES,
    FUZZY_MIN_LENGTH,
    INFORMATIONAL,
    SEVERITY_ORDER,
    Hit,
    Lexicon,
    default_lexicon,
)
from evy.triage.model import Scores, active_model
from evy.triage.normalize import tokens

DEFAULT_LANGUAGE = "en"
CORRECTION_CACHE = 50_000  # words remembered with their correction; bounded so a flood cannot eat memory
FOREIGN_MIN_VOTES = 3  # markers it takes to be sure of a message's language
EMERGENCY_THRESHOLD = 0.5  # the model's probability of a danger here and now
# The same for a message that names a hazard the model is sure of and neither asks nor settles anything
# ("the school wall fell on two kids, we see a foot"): unsure of the danger, take the safest reading.
REPORT_THRESHOLD = 0.3
# Categories of a hazard that happens to people (not a condition someone has, not a need).
HAPPENING = frozenset({"fire", "flood", "earthquake", "storm", "trapped", "violence", "hazmat"})
TOPIC_CONFIDENCE = 0.5  # below this the reply is the category's safe fallback, not a protocol
AGREED_CONFIDENCE = 0.3  # the same, when the rules chose that protocol too
CATEGORY_CONFIDENCE = 0.4  # below this not even the category: the general help text
GROUP_CONFIDENCE = 0.25  # an emergency of no surer category still gets its likely group's safe fallback
UNFOUNDED_CONFIDENCE = 0.6  # the same, for a bare call for help with no hazard word
SETTLING = ("calm", "resolved", "remote", "hypothetical")  # cues that the message reports no danger here and now
SETTLED = frozenset(f"cue:{kind}" for kind in SETTLING)
CALMED_BY_LIFE = frozenset({"cue:calm"})  # a sign of a life at stake outweighs a calm word, not news or a what-if
ASKING = frozenset({"cue:question", "cue:?"})
UNCALMED = frozenset({"missing_person"})  # someone lost now, wherever it happened (a queue, a match)
NEEDS = frozenset({"shelter", "water_food"})  # categories of a need, not a hazard
DISCREET = "domestic_violence"  # its reply is written for a phone an abuser may read
# Routes that a message with discreet or domestic cues ("he reads my phone", "only text me") must not keep:
# their texts are not written for an onlooker (the violence text says run, hide, call the police).
NOT_DISCREET = frozenset({"violence", "other", None})


@dataclass(frozen=True)
class Triage:
    emergency: bool
    category: str | None  # one of CATEGORIES, or None for a message that is neither emergency nor topic
    priority: Priority
    language: str  # the sender's language: "en", "es", "fr", "pt"...
    topic: str | None = None  # the specific protocol, e.g. "cpr", "choking"; None for the category's own
    confidence: float = 1.0  # how sure: of the protocol (or category) named for an emergency, else of calm


def triage(text: str, *, lexicon: Lexicon | None = None, default_language: str = DEFAULT_LANGUAGE) -> Triage:
    """``lexicon``: a custom one decides by its rules alone (the shipped model learnt the shipped lexicon)."""
    model = active_model() if lexicon is None else None
    lexicon = lexicon or default_lexicon()
    rule, seen, found = read(text, lexicon, default_language)
    if model is None:
        return rule
    return _combine(lexicon, rule, seen, found, model.score(seen, found))


def read(text: str, lexicon: Lexicon, default_language: str = DEFAULT_LANGUAGE
         ) -> tuple[Triage, set[str], dict[str, list[float]]]:
    """What the rules decide, and what the model sees: the message's features and the lexicon's evidence."""
    words, hits = analyse(text, lexicon)
    rule = _decide(lexicon, hits, default_language)
    written_in = _written_in(text, lexicon, default_language)
    if written_in is not None:
        rule = replace(rule, language=written_in)
    verdict = "life" if rule.priority is Priority.LIFE_THREATENING else "emergency" if rule.emergency else "calm"
    return rule, features(words, hits, question_shape(text), verdict), evidence(hits, lexicon.topics, rule.topic,
                                                                                    rule.category)


def question_shape(text: str) -> str | None:
    """Where the message asks: "end" (it ends on a question: "can we drink the river water?"), "before" (a
    question, then more told: "what do i do? he is fitting"), or None."""
    if "?" not in text:
        return None
    tail = text[text.rindex("?") + 1:]
    return "before" if sum(character.isalpha() for character in tail) >= 8 else "end"


def analyse(text: str, lexicon: Lexicon) -> tuple[list[str], list[Hit]]:
    """The message's words (shorthand spelt out, misspellings corrected) and the lexicon's hits on them."""
    hits: list[Hit] = []
    words = _expand(lexicon, tokens(text), hits)
    votes = _marker_votes(lexicon, words)
    best = max(votes.values(), default=0)
    words = [_correct(lexicon, word, votes, best) for word in words]
    hits += _hits(lexicon, words)
    return words, hits


@dataclass(frozen=True)
class Mentions:
    """Every topic and category a text touches, not just the winner (for matching passages to a message)."""

    topics: frozenset[str]
    categories: frozenset[str]


def mentions(text: str, *, lexicon: Lexicon | None = None) -> Mentions:
    lexicon = lexicon or default_lexicon()
    _, hits = analyse(text, lexicon)
    topics = frozenset(hit.name for hit in hits if hit.kind == "topic")
    categories = {hit.name for hit in hits if hit.kind in ("category", "critical")}
    categories.update(lexicon.topics[name].category for name in topics)
    return Mentions(topics, frozenset(categories))


def _expand(lexicon: Lexicon, words: list[str], hits: list[Hit]) -> list[str]:
    """Spell out SMS shorthand in the message's language ("n" is "nao" in Portuguese, but Creole's "n ap"
    stays); each shorthand also hints at the languages that use it ("pfv": pt)."""
    votes: Counter[str] | None = None
    expanded: list[str] = []
    for word in words:
        readings = lexicon.shorthand.get(word)
        if readings is None:
            expanded.append(word)
            continue
        if votes is None:
            votes = _marker_votes(lexicon, words)
        best = max(votes.values(), default=0)
        rival = max((value for language, value in votes.items() if language not in readings), default=0)
        chosen = next((language for language in readings if votes[language] == best), None)
        if chosen is None or (best and votes[chosen] <= rival):
            expanded.append(word)  # the message may be in a language that writes this word as it is ("ki")
            continue
        expanded.extend(readings[chosen])
        hits.extend(Hit(language, "marker", "marker", 1) for language in readings)
    return expanded


def _marker_votes(lexicon: Lexicon, words: list[str]) -> Counter[str]:
    votes: Counter[str] = Counter()
    for word in words:
        for hit in lexicon.phrases.get((word,), ()):
            if hit.kind == "marker":
                votes[hit.language] += 1
    return votes


def _correct(lexicon: Lexicon, word: str, votes: Counter[str], best: int) -> str:
    if word in lexicon.vocabulary or len(word) < FUZZY_MIN_LENGTH:
        return word
    corrected = lexicon.corrections.get(word)
    if corrected is None:
        corrected = _nearest(lexicon, word)
        if len(lexicon.corrections) < CORRECTION_CACHE:
            lexicon.corrections[word] = corrected
    # Only towards a word of a language the message may be in: Spanish "bolsas" (bags) is no misspelt
    # Portuguese "bolhas" (blisters) in a message clearly in Spanish.
    if corrected != word and all(_foreign(language, votes, best, lexicon)
                                 for language in _languages_of(lexicon, corrected)):
        return word
    return corrected


_KEYWORD_LANGUAGES: dict[int, tuple[Lexicon, dict[str, frozenset[str]]]] = {}  # id -> (the lexicon, its cache)


def _languages_of(lexicon: Lexicon, word: str) -> frozenset[str]:
    """The languages whose phrases use ``word`` (looked up once per word: a scan of the phrases, ~1 ms)."""
    known = _KEYWORD_LANGUAGES.get(id(lexicon))
    if known is None or known[0] is not lexicon:
        if len(_KEYWORD_LANGUAGES) >= 8:  # test lexicons come and go
            _KEYWORD_LANGUAGES.clear()
        known = _KEYWORD_LANGUAGES[id(lexicon)] = (lexicon, {})
    found = known[1].get(word)
    if found is None:
        found = known[1][word] = frozenset(hit.language for phrase, hits in lexicon.phrases.items()
                                           if word in phrase for hit in hits)
    return found


def _nearest(lexicon: Lexicon, word: str) -> str:
    """The lexicon word one edit away (missing, extra, wrong or swapped letter), else ``word`` itself."""
    found = lexicon.deletions.get(word)  # a letter missing: "bleding"
    if found:
        return found[0]
    for index in range(len(word)):
        shorter = word[:index] + word[index + 1:]
        if len(shorter) >= FUZZY_MIN_LENGTH and shorter in lexicon.keywords:  # a letter too many
            return shorter
    for index in range(len(word)):
        found = lexicon.deletions.get(word[:index] + word[index + 1:])
        # The same place: a wrong letter ("hypotermia"); next to it: two letters swapped ("berathing").
        # Farther apart it is two edits ("since" vs "spine") and no correction.
        if found and abs(found[1] - index) <= 1:
            return found[0]
    return word


def _hits(lexicon: Lexicon, words: list[str]) -> list[Hit]:
    hits: list[Hit] = []
    seen: dict[tuple[int, int, str, str, str], int] = {}  # -> where in hits
    shared: dict[int, set[str]] = {}  # hit index -> every language whose lexicon has this phrase
    spans: list[tuple[int, int]] = []  # hit index -> the words it covers

    def add(found: list[Hit], start: int, size: int) -> None:
        for hit in found:
            if hit.kind == "question" and start > 0:
                # A question word asks for information only at the start ("fire, what do i do?"); later it
                # is only a hint, for the model ("nimpoze mtoto vipi": how do I cool the child).
                hit = Hit(hit.language, "asks", "asks", 1)
            key = (start, size, hit.kind, hit.name, hit.language if hit.kind in CUES else "")
            if key in seen:  # "terremoto" is Spanish and Portuguese: one word, one vote, two language hints
                hits.append(Hit(hit.language, "marker", "marker", 1))
                spans.append((start, start))
                shared[seen[key]].add(hit.language)
                continue
            seen[key] = len(hits)
            shared[len(hits)] = {hit.language}
            spans.append((start, start + size))
            hits.append(hit)

    phrases, stems, lengths = lexicon.phrases, lexicon.stems, lexicon.stem_lengths
    count = len(words)
    for start in range(count):
        for size in range(1, min(lexicon.longest_phrase, count - start) + 1):
            found = phrases.get(tuple(words[start:start + size]))
            if found:
                add(found, start, size)
        word = words[start]
        for length in lengths:
            if length > len(word):
                break
            found = stems.get(word[:length])
            if found:
                add(found, start, 1)  # the same word as an exact phrase: one vote
    met = {hit.name for hit in hits if hit.kind == "needs"}
    ruled_out = {hit.name for hit in hits if hit.kind == "unless"}
    # Hazard words travel between languages, but a cue is a phrase of the message's own language: French
    # "foot" (football) must not calm "cut on foot", Swahili "salio" (balance) not Spanish "salio".
    votes = _marker_votes(lexicon, words)
    best = max(votes.values(), default=0)
    # A word inside a longer phrase means what the phrase means: "msaada" calls for help, but "unga wa
    # msaada" is relief flour; "burning up with fever" is no fire; "nao me liga" (don't call me: a watched
    # phone) is not "me liga" (call me back, a calm cue). A sign of a life at stake yields only to a calm
    # phrase ("battery is dying", "dying of laughter"), not to the hazard phrase it is part of.
    named = [(spans[index], hit.name, hit.kind) for index, hit in enumerate(hits)
             if hit.kind in ("category", "critical", "topic", "calm", "resolved", "hypothetical")]
    kept = []
    for index, hit in enumerate(hits):
        if hit.kind == "topic" and ((hit.name in lexicon.conditional and hit.name not in met)
                                    or hit.name in ruled_out):
            continue
        if hit.kind in ("distress", "life_threat", "category", "critical", "topic", *SETTLING) and any(
                first <= spans[index][0] and spans[index][1] <= last and name != hit.name
                and last - first > spans[index][1] - spans[index][0]
                and (hit.kind != "life_threat" or kind in SETTLING) for (first, last), name, kind in named):
            continue
        if hit.kind in CUES or hit.kind == "asks":
            if votes[hit.language] >= best:
                kept.append(hit)
        elif hit.kind in ("category", "critical", "topic") and all(
                _foreign(language, votes, best, lexicon) for language in shared.get(index, (hit.language,))):
            # A word of another supported language, in a message that is clearly not in it (Portuguese
            # "pelando", burning hot, in Spanish "se le esta pelando la piel"): a hint, no vote.
            kept.append(Hit(hit.language, hit.kind, hit.name, 0))
        else:
            kept.append(hit)
    return kept


def _foreign(language: str, votes: Counter[str], best: int, lexicon: Lexicon) -> bool:
    """A language the message is clearly not in, supported or guest (Somali "mas", snake, in Portuguese
    "respirando mas nao responde")."""
    return best >= FOREIGN_MIN_VOTES and votes[language] * 2 < best


def _decide(lexicon: Lexicon, hits: list[Hit], default_language: str) -> Triage:
    language_score: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    topics: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    critical: set[str] = set()
    for hit in hits:
        language_score[hit.language] += 1
        kinds[hit.kind] += 1
        if hit.weight == 0:  # a foreign word: it tells the language, not the danger
            continue
        if hit.kind in ("category", "critical"):
            categories[hit.name] += hit.weight
            if hit.kind == "critical":
                critical.add(hit.name)
        elif hit.kind == "topic":
            topics[hit.name] += hit.weight
            categories[lexicon.topics[hit.name].category] += hit.weight
    language = _language(language_score, default_language, lexicon)

    life_topics = [name for name in topics if lexicon.topics[name].life_threatening]
    life = bool(kinds["life_threat"] or life_topics)
    distress = bool(kinds["distress"])

    topic: str | None
    if life_topics:
        # The most urgent life-saving protocol wins: "fell through ice, not breathing" is CPR first.
        topic = max(life_topics, key=lambda name: (lexicon.topics[name].rank, topics[name]))
        category: str | None = lexicon.topics[topic].category
    elif categories:
        category = max(categories, key=lambda name: (categories[name], -SEVERITY_ORDER.index(name)))
        in_category = [name for name in topics if lexicon.topics[name].category == category]
        topic = max(in_category, key=lambda name: (lexicon.topics[name].rank, topics[name]), default=None)
    elif life:
        category, topic = "medical", None  # "unconscious", "dying": a person in danger, cause unknown
    elif distress:
        category, topic = "other", None
    else:
        return Triage(False, None, Priority.ROUTINE, language, None)

    # A sign of a life at stake is not calmed by chat around it ("at the match a boy collapsed, not
    # breathing"; "the goat kicked him and he won't wake up"), nor an urgent situation ("lost in the food
    # queue"): only news or a what-if settles it.
    urgent = (topic is not None and lexicon.topics[topic].urgent) or category in UNCALMED
    calm = kinds["calm"] and not kinds["life_threat"] and not urgent
    settled = bool(calm or kinds["resolved"] or kinds["remote"] or kinds["hypothetical"]) and not distress
    if settled:  # "what if the house catches fire", "thanks, he is breathing fine now", "on the news"
        return Triage(False, category, Priority.ROUTINE, language, topic)
    if life or category in critical:  # "trapped" is critical in a fire, not in a report about shelters
        return Triage(True, category, Priority.LIFE_THREATENING, language, topic)
    asking = kinds["question"] > 0 and not distress
    emergency = distress or not (asking or category in INFORMATIONAL)
    return Triage(emergency, category, Priority.EMERGENCY if emergency else Priority.ROUTINE, language, topic)


def _written_in(text: str, lexicon: Lexicon, default: str) -> str | None:
    """The language to answer in as the letters tell it, when the language model is sure: a supported
    language itself, a guest one in its closest supported one, any other in the default."""
    model = default_language_model()
    found = model.identify(text) if model is not None else None
    if found is None or found[1] < SURE_MARGIN:
        return None
    language = found[0]
    if language in lexicon.languages:
        return language
    return lexicon.answer_in.get(language, default if default in lexicon.languages else lexicon.languages[0])


def _language(score: Counter[str], default: str, lexicon: Lexicon) -> str:
    """The best-scored language; a guest language is answered in its closest supported one."""
    known = lexicon.languages
    if not score:
        return default if default in known or not known else known[0]
    best = max(score.values())
    leaders = [language for language, value in score.items() if value == best]
    supported = [language for language in leaders if language in known] or leaders  # a tie: ours
    found = default if default in supported else sorted(supported)[0]
    return lexicon.answer_in.get(found, found)


def _combine(lexicon: Lexicon, rule: Triage, seen: set[str], found: dict[str, list[float]], scores: Scores
             ) -> Triage:
    """The model's reading, with the rules' priority and language; the protocol only when sure of it.

    Two floors the model cannot lower: a call for help or a sign of a life at stake ("sos", "not
    breathing") is an emergency unless the message says it is not here and now (a question alone does
    not); and a need for water, food or information is not, unless it calls for help."""
    known = {key: _category_of(lexicon, key) for key in scores.protocols}
    by_category: Counter[str] = Counter()
    for key, share in scores.protocols.items():
        if known[key]:
            by_category[known[key]] += share
    best = max((key for key in scores.protocols if known[key]), key=scores.protocols.__getitem__)
    likely = max(by_category, key=by_category.__getitem__)
    bare = not found and "cue:distress" in seen
    topic: str | None
    if scores.protocols[best] >= (AGREED_CONFIDENCE if best in (rule.topic, rule.category) else TOPIC_CONFIDENCE):
        category, confidence = known[best], scores.protocols[best]
        topic = best if best in lexicon.topics else None
    else:
        category = max(by_category, key=by_category.__getitem__)
        confidence, topic = by_category[category], None
        # A bare call for help ("au secours svp"): with no lexicon word pointing anywhere, the words alone
        # must be surer before the reply names a category.
        if confidence < (UNFOUNDED_CONFIDENCE if bare else CATEGORY_CONFIDENCE):
            # The model is unsure even of the category: the rules' reading if they have one ("INCENDIO!!!").
            category = rule.category if rule.category and not bare else "other"
    settled = bool(seen & (SETTLED - CALMED_BY_LIFE if "cue:life_threat" in seen else SETTLED))
    calling = "cue:distress" in seen or "cue:life_threat" in seen
    # The rules' life threat ("under the rubble", "gunfire") stands too, when nothing asks or settles it.
    life = rule.priority is Priority.LIFE_THREATENING and not seen & ASKING
    # A danger the rules read here, told with a question about it, takes the safest reading: a missed
    # emergency costs more than a needless protocol text (on two new batches: recognition +0.3 and +3.6
    # points, false alarms +0.9 and +0.7 points). Asked first, then told ("q hago? mi hijo tiene fiebre y
    # convulsiona"), also for a need; asked about ("smoke coming under the door, what do we do?"), not for a
    # need. A hazard that happens rather than a condition one has, told here or now and then asked about
    # ("fire in my kitchen what do i do"), even when the model is unsure of its category; "my son is
    # allergic to peanuts, how do i use the pen", "the cyclone comes friday, what should we store?" stay
    # questions.
    asked_about_it = rule.emergency and ("cue:?before" in seen or category not in NEEDS)
    told_then_asked = ("cue:asks" in seen and "cue:now" in seen and rule.emergency and rule.category in HAPPENING
                       and category == rule.category and scores.emergency >= REPORT_THRESHOLD
                       and not seen & (SETTLED | {"cue:?before"}))
    reporting = (scores.emergency >= REPORT_THRESHOLD and category not in INFORMATIONAL
                 and confidence >= TOPIC_CONFIDENCE and not seen & SETTLED
                 and (asked_about_it or not seen & (ASKING | {"cue:asks"}))) or told_then_asked
    emergency = scores.emergency >= EMERGENCY_THRESHOLD or reporting or ((calling or life) and not settled)
    if "cue:remote" in seen and "cue:life_threat" not in seen and "cue:now" not in seen:  # "on the radio..."
        emergency = False
    # A child found alone is an emergency even when the sender only asks where to go, and chat around it
    # ("lost in the food queue", "at the match") does not settle it; only news, a what-if or "safe now" do.
    urgent = (topic is not None and topic == rule.topic and lexicon.topics[topic].urgent) or (
        rule.emergency and rule.category in UNCALMED and category == rule.category
        and not seen & (ASKING | {"cue:asks"}))
    if urgent and not seen & (SETTLED - CALMED_BY_LIFE):
        emergency = True
    # Violence at home told in its own words ("he reads my messages, today he kicked me") is a call for help
    # unless the message settles it: the discreet reply is written for it, and asking back is no option.
    if topic == DISCREET and found.get(DISCREET, (0.0,))[0] > 0 and not seen & SETTLED:
        emergency = True
    # "hot water" in a scald is no water request; but water the rules read as a hazard ("roaring brown
    # water at the door") is no request either.
    hazard = rule.emergency and rule.category not in INFORMATIONAL
    # Asking where or how to get a need met is a request, even with "please help" in it ("where do we sign
    # up for tarps, pls help"; "is there room at the school?"), unless a life is at stake or a hazard is read.
    if category in NEEDS and topic in (None, "food_distribution") and seen & (ASKING | {"cue:asks"}) and (
            "cue:life_threat" not in seen and not hazard):
        emergency = False
    if ((category == "water_food" and confidence >= TOPIC_CONFIDENCE) or category == "other") and topic in (
            None, "food_distribution") and not calling and not hazard:
        emergency = emergency and category == "other" and scores.emergency >= EMERGENCY_THRESHOLD
    if category == "other" and topic is None and settled and "cue:life_threat" not in seen:
        emergency = False  # a call for help about nothing the triage knows, with a calm cue: "our goat fell in"
    if not emergency:  # an information request: about what the rules read in it, if the model can't say
        if category == "other":
            category, topic = rule.category, rule.topic
        return Triage(False, None if category == "other" else category, Priority.ROUTINE, rule.language,
                      topic, round(1 - scores.emergency, 3))
    if category == "other" and not bare and likely != "other" and by_category[likely] >= GROUP_CONFIDENCE:
        # An emergency the model cannot place surely: its likely group's safe fallback ("took a whole strip
        # of her pills and is very sleepy": the medical text) says more than the general help text.
        category, confidence = likely, by_category[likely]
    if category in NEEDS and "cue:life_threat" in seen:
        # A sign of a life at stake outranks the need it was told with ("in the shelter tent an old man won't
        # wake"): the person needs first aid, not the shelter or water text.
        category, topic = "medical", rule.topic if rule.category == "medical" else None
    if (topic if topic is not None else category) in NOT_DISCREET and found.get(DISCREET, (0.0,))[0] > 0:
        category, topic = lexicon.topics[DISCREET].category, DISCREET
    life = rule.priority is Priority.LIFE_THREATENING or (topic is not None and lexicon.topics[topic].life_threatening)
    return Triage(True, category, Priority.LIFE_THREATENING if life else Priority.EMERGENCY, rule.language, topic,
                  round(confidence, 3))


def _category_of(lexicon: Lexicon, key: str) -> str | None:
    if key in SEVERITY_ORDER:
        return key
    topic = lexicon.topics.get(key)
    return topic.category if topic else None
