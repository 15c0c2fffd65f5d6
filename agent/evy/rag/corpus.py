"""The shipped emergency knowledge base: markdown files, one topic each, cut into SMS-sized passages.

Layout: ``data/<language>/<topic>.md`` (language is an ISO 639-1 code). A file starts with a front
matter block naming its topic and source(s); each ``## Title`` section is one passage. A line
``Source: ...`` inside a section overrides the file's source for that passage, and a line
``Keywords: ...`` lists words people text for that case which the passage may not use (synonyms, SMS
spellings); they are searched but never shown::

    ---
    topic: bleeding
    source: American Red Cross, First Aid Steps; US DHS, Stop the Bleed
    ---

    ## Stop severe bleeding
    Press hard on the wound with a cloth ...

Passages are written in our own words from public-domain guidance and kept short (they end up in an SMS
and in a small model's prompt).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from evy.rag.errors import KnowledgeBaseError

log = logging.getLogger("evy.rag")

MAX_PASSAGE_CHARS = 700
_LANGUAGE = re.compile(r"^[a-z]{2}$")
_TOPIC = re.compile(r"^[a-z0-9_]+$")


@dataclass(frozen=True)
class Chunk:
    """One passage of the knowledge base as it goes into the index."""

    key: str  # "<language>/<topic>#<n>", stable across rebuilds
    language: str
    topic: str
    title: str
    text: str
    source: str
    keywords: str = ""  # words people text for this case that the passage itself may not use


def data_dir() -> Path:
    return Path(str(resources.files("evy.rag") / "data"))


def parse_file(text: str, language: str, origin: str) -> list[Chunk]:
    """The passages of one knowledge-base file; malformed files raise with the file and line."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise KnowledgeBaseError(f"{origin}:1: expected a front matter block starting with ---")
    meta: dict[str, str] = {}
    number = 1
    for number, line in enumerate(lines[1:], start=2):
        if line.strip() == "---":
            break
        key, sep, value = line.partition(":")
        if not sep or key.strip() not in ("topic", "source"):
            raise KnowledgeBaseError(f"{origin}:{number}: expected 'topic: ...' or 'source: ...'")
        meta[key.strip()] = value.strip()
    else:
        raise KnowledgeBaseError(f"{origin}: front matter is not closed with ---")
    topic = meta.get("topic", "")
    if not _TOPIC.match(topic):
        raise KnowledgeBaseError(f"{origin}: topic must be lower-case letters, digits and _, got {topic!r}")
    chunks: list[Chunk] = []
    title, body, source, keywords, start = None, [], meta.get("source"), "", number

    def close_section() -> None:
        if title is None:
            return
        where = f"{origin}:{start}"
        content = " ".join(line.strip() for line in body if line.strip())
        if not content:
            raise KnowledgeBaseError(f"{where}: section {title!r} is empty")
        if not source:
            raise KnowledgeBaseError(f"{where}: section {title!r} has no source (front matter or Source: line)")
        if len(content) > MAX_PASSAGE_CHARS:
            raise KnowledgeBaseError(f"{where}: section {title!r} has {len(content)} characters, "
                                     f"at most {MAX_PASSAGE_CHARS}; split it")
        chunks.append(Chunk(f"{language}/{topic}#{len(chunks) + 1}", language, topic, title, content, source,
                            keywords))

    for line_number, line in enumerate(lines[number:], start=number + 1):
        if line.startswith("## "):
            close_section()
            title, body, source, keywords, start = line[3:].strip(), [], meta.get("source"), "", line_number
        elif line.startswith("Source:"):
            source = line.partition(":")[2].strip()
        elif line.startswith("Keywords:"):
            keywords = line.partition(":")[2].strip()
        elif line.strip() and title is None:
            raise KnowledgeBaseError(f"{origin}:{line_number}: text before the first ## section")
        else:
            body.append(line)
    close_section()
    if not chunks:
        raise KnowledgeBaseError(f"{origin}: no ## sections")
    return chunks


def load(root: Path | None = None, updates: Path | None = None) -> list[Chunk]:
    """Every passage under ``root`` (the shipped data by default), in a stable order. A file under
    ``updates`` (same layout, sent by the coordination cell) takes the place of the file of the same
    language and name, or adds one; an update that no longer parses is logged and left out."""
    root = Path(root) if root else data_dir()
    found = {path.relative_to(root): chunks for path, chunks in _files(root)}
    if updates is not None and Path(updates).is_dir():
        for path in sorted(Path(updates).glob("*/*.md")):
            try:
                found[path.relative_to(updates)] = check_update(path.parent.name, path.stem,
                                                                path.read_text(encoding="utf-8"), str(path))
            except (OSError, UnicodeDecodeError, KnowledgeBaseError) as exc:
                log.warning("knowledge-base update %s not used: %s", path, exc)
    return [chunk for _, chunks in sorted(found.items()) for chunk in chunks]


def check_update(language: str, name: str, text: str, origin: str) -> list[Chunk]:
    """The passages of a knowledge-base file sent by the cell, checked as a shipped file is; its topic must
    be its name, so its passages' keys cannot collide with another file's."""
    if not _LANGUAGE.match(language):
        raise KnowledgeBaseError(f"{origin}: language must be a 2-letter code, got {language!r}")
    if not _TOPIC.match(name):
        raise KnowledgeBaseError(f"{origin}: name must be lower-case letters, digits and _, got {name!r}")
    chunks = parse_file(text, language, origin)
    if chunks[0].topic != name:
        raise KnowledgeBaseError(f"{origin}: its topic {chunks[0].topic!r} is not its name {name!r}")
    return chunks


def _files(root: Path) -> Iterator[tuple[Path, list[Chunk]]]:
    if not root.is_dir():
        raise KnowledgeBaseError(f"{root}: knowledge-base directory is missing")
    for language_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if not _LANGUAGE.match(language_dir.name):
            raise KnowledgeBaseError(f"{language_dir}: directory name must be a 2-letter language code")
        for path in sorted(language_dir.glob("*.md")):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise KnowledgeBaseError(f"{path}: cannot read: {exc}") from None
            yield path, parse_file(text, language_dir.name, str(path))


def fingerprint(chunks: list[Chunk]) -> str:
    """A hash of the passages: an index built from other passages is rebuilt."""
    digest = hashlib.sha256()
    for chunk in chunks:
        for part in (chunk.key, chunk.title, chunk.text, chunk.source, chunk.keywords):
            digest.update(part.encode("utf-8") + b"\0")
    return digest.hexdigest()
