"""Protocol-library updates from the coordination cell (the signed downlink): one whole language file,
checked as the shipped library is before it is kept, and used from the agent's next start in place of the
shipped file of its language (a conversation never changes library half way).

The checks: the file loads (every field and section the shipped files need); its language is one the image
ships; it keeps every protocol the shipped file has (triage routes to them; an update adds or changes,
never removes); and every step of every protocol passes the contraindications (``must_not``) of every
protocol it stands in for or may be mistaken for (``must_be_safe_for``), with the update's patterns **and**
the shipped file's and under both files' negation words, so an update cannot make its own text pass by
dropping a pattern or adding a negation; a discreet protocol names no alarming word.

Kept as ``<folder>/<language>.toml`` beside ``<language>.base``, the sha256 of the shipped file it was
checked against: an image with another shipped file ignores the update (the cell sends it again if it still
applies). Every start checks each kept update again; one that fails is logged and the shipped file used.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

from evy.files import atomic_write
from evy.protocols import library
from evy.protocols.errors import ProtocolError
from evy.protocols.safety import alarming, violations

log = logging.getLogger("evy.protocols")

SAMPLE_NUMBER = "112"  # any number: the check reads the text around it


def _steps(entry: library._Entry, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    text = entry.text.replace(library.NUMBER_FIELD, SAMPLE_NUMBER)
    yield path, f"{text}\n{entry.question}" if entry.question else text
    for answer, child in entry.next.items():
        yield from _steps(child, (*path, answer))


def check(language: str, text: str, where: str = "update") -> library._Language:
    """The update, loaded and checked; a ProtocolError saying what is wrong (and how often) otherwise."""
    base = library.shipped().get(language)
    if base is None:
        raise ProtocolError(f"{where}: {language!r} is not a language the image ships "
                            f"({', '.join(sorted(library.shipped()))})")
    candidate = library.load_language(text, language, where)
    missing = sorted(set(base.protocols) - set(candidate.protocols))
    if missing:
        raise ProtocolError(f"{where}: drops protocol(s) {', '.join(missing[:5])}; an update may add or change "
                            "protocols, never remove one")
    faults: list[str] = []
    for key, protocol in candidate.protocols.items():
        guards = [found for other in library.must_be_safe_for(key) for source in (candidate, base)
                  if (found := source.protocols.get(other)) is not None]
        patterns = tuple(dict.fromkeys(pattern for guard in guards for pattern in guard.must_not))
        for path, step_text in _steps(protocol):
            where_ = f"{key}{'/' + '/'.join(path) if path else ''}"
            broken = dict.fromkeys(hit for negation in (candidate.negation, base.negation)
                                   for hit in violations(step_text, patterns, negation))
            faults += [f"{where_} breaks must_not {hit}" for hit in broken]
            if protocol.discreet:
                faults += [f"{where_} is discreet but says {word!r}"
                           for word in alarming(step_text, base.discreet + candidate.discreet)]
    if faults:
        raise ProtocolError(f"{where}: fails the safety check {len(faults)} time(s); first: {faults[0]}")
    return candidate


def _shipped_sha(language: str) -> str:
    return hashlib.sha256((library.shipped_text(language) or "").encode("utf-8")).hexdigest()


def keep(folder: Path, language: str, text: str) -> Path:
    """Write a checked update (call :func:`check` first); the base hash last, so a crash between the two
    leaves an update without a base, which is ignored."""
    path = Path(folder) / f"{language}.toml"
    (Path(folder) / f"{language}.base").unlink(missing_ok=True)
    atomic_write(path, text, mode=0o644)
    atomic_write(Path(folder) / f"{language}.base", _shipped_sha(language) + "\n", mode=0o644)
    return path


def load(folder: Path) -> dict[str, library._Language]:
    """The kept updates that still apply and pass the checks; any other is logged and left out."""
    found: dict[str, library._Language] = {}
    if not Path(folder).is_dir():
        return found
    for path in sorted(Path(folder).glob("*.toml")):
        language = path.stem
        try:
            base = (Path(folder) / f"{language}.base").read_text("utf-8").strip()
            if base != _shipped_sha(language):
                log.warning("protocol update %s was checked against another shipped library; using the shipped "
                            "file until the cell sends it again", path)
                continue
            found[language] = check(language, path.read_text("utf-8"), str(path))
        except (OSError, UnicodeDecodeError, ProtocolError) as exc:
            log.warning("protocol update %s not used: %s", path, exc)
    return found


def use(folder: Path | None) -> list[str]:
    """Install the kept updates of ``folder`` (None: the shipped library only); the languages updated."""
    updates = load(folder) if folder is not None else {}
    library.install_updates(updates)
    if updates:
        log.info("protocol library: updated from the cell for %s", ", ".join(sorted(updates)))
    return sorted(updates)
