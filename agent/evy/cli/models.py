"""`evy models list|verify|prepare` (pinned model files) and `evy kb build|search` (the knowledge base)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from evy.cli import add_config_option, print_json
from evy.config import load


def register(sub: argparse._SubParsersAction) -> None:
    models = sub.add_parser("models", help="list, verify, prepare or add the model files pinned in models.lock")
    actions = models.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, handler, helptext in (
        ("list", list_models, "the pinned models and whether their files are present"),
        ("verify", verify_models, "check every pinned file's size and sha256; exit 2 on any mismatch"),
        ("prepare", prepare_models, "derive converted model files (e.g. the GGUF embedder), then verify"),
    ):
        action = actions.add_parser(name, help=helptext)
        _common(action)
        if name != "list":
            action.add_argument("names", nargs="*", metavar="NAME", help="only these models (default: all)")
        action.set_defaults(func=handler)

    add = actions.add_parser("add", help="download a model file, hash it and pin it in models.lock")
    _common(add)
    add.add_argument("url", help="http(s):// or file:// URL of the model file")
    add.add_argument("--role", choices=("chat", "embed"), default="chat", help="what the model is for")
    add.add_argument("--name", help="name to pin it under (default: from the file name)")
    add.add_argument("--license", default="unknown", help="the model's licence, e.g. Apache-2.0")
    add.add_argument("--lockfile", metavar="FILE", help="lockfile to extend (default: llm.lockfile or models.lock)")
    add.add_argument("--models-dir", metavar="DIR", help="where to store the file (default: llm.models_dir)")
    add.set_defaults(func=add_model)

    kb = sub.add_parser("kb", help="build or search the emergency knowledge-base index")
    actions = kb.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = actions.add_parser("build", help="(re)build the index from the shipped knowledge base")
    _common(build)
    build.add_argument("--out", metavar="FILE", help="index file (default: rag.index or <data_dir>/kb.sqlite)")
    build.add_argument("--no-embed", action="store_true", help="keyword (FTS5) index only, no vectors")
    build.set_defaults(func=kb_build)
    search = actions.add_parser("search", help="the passages the responder would retrieve for a message")
    _common(search)
    search.add_argument("-k", type=int, default=None, help="passages to return (default: rag.top_k)")
    search.add_argument("--lang", metavar="CODE", help="prefer passages in this language (en, es, fr, pt)")
    search.add_argument("--index", metavar="FILE", help="index file (default: the configured one)")
    search.add_argument("query", nargs="+", help="the message text")
    search.set_defaults(func=kb_search)


def _common(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    parser.add_argument("--json", action="store_true", help="JSON output")


def _selected(entries: list, names: list[str]) -> list:
    from evy.llm import lockfile

    return [lockfile.find(entries, name) for name in names] if names else entries


def _table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip())
    for row in rows:
        print("  ".join(str(row[c]).ljust(widths[c]) for c in columns).rstrip())


def list_models(args: argparse.Namespace) -> int:
    from evy.llm import LlmError, lockfile, models_dir

    config = load(args.config)
    directory = models_dir(config)
    rows = []
    for entry in lockfile.load(config["llm.lockfile"]):
        try:
            path = lockfile.resolve(entry, directory)
            state = "present" if path.is_file() else ("not prepared" if entry.convert else "missing")
        except LlmError:
            path, state = None, "missing"
        rows.append({"name": entry.name, "role": entry.role, "size_mb": round(entry.size / 1e6, 1),
                     "source": entry.source, "license": entry.license, "state": state,
                     "path": str(path) if path else None, "sha256": entry.sha256})
    if args.json:
        print_json(rows)
    elif rows:
        _table(rows, ["name", "role", "size_mb", "state", "license", "source"])
    return 0


def _check(args: argparse.Namespace, check) -> int:
    from evy.llm import LlmError, lockfile, models_dir
    from evy.llm.errors import ModelError

    config = load(args.config)
    directory = models_dir(config)
    results, failures = [], []
    for entry in _selected(lockfile.load(config["llm.lockfile"]), args.names):
        try:
            path = check(entry, directory)
            results.append({"name": entry.name, "ok": True, "path": str(path), "error": None})
        except LlmError as exc:
            results.append({"name": entry.name, "ok": False, "path": None, "error": str(exc)})
            failures.append(str(exc))
    if args.json:
        print_json(results)
    else:
        for result in results:
            print(f"ok: {result['name']} {result['path']}" if result["ok"] else f"FAILED: {result['error']}")
    if failures:
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        raise ModelError(failures[0] + more)
    return 0


def verify_models(args: argparse.Namespace) -> int:
    from evy.llm import lockfile

    return _check(args, lockfile.verify)


def prepare_models(args: argparse.Namespace) -> int:
    from evy.llm.convert import prepare

    return _check(args, prepare)


def add_model(args: argparse.Namespace) -> int:
    from pathlib import Path

    from evy.llm import lockfile, models_dir

    config = load(args.config)
    lock = Path(args.lockfile) if args.lockfile else (config["llm.lockfile"] or lockfile.default_path())
    directory = Path(args.models_dir) if args.models_dir else models_dir(config)
    entry = lockfile.add_from_url(args.url, lock_path=lock, models_dir=directory, role=args.role, name=args.name,
                                  license=args.license)
    if args.json:
        print_json({**entry.__dict__, "lockfile": str(lock), "path": str(directory / entry.file)})
    else:
        print(f"ok: pinned {entry.name} ({entry.size} bytes, sha256 {entry.sha256[:12]}…) in {lock}; "
              f"file in {directory}")
    return 0


def kb_build(args: argparse.Namespace) -> int:
    from pathlib import Path

    from evy.rag import build, corpus, index_path
    from evy.rag.embed import open_embedder

    config = load(args.config)
    embedder = None if args.no_embed else open_embedder(config)
    if embedder is None and not args.no_embed:
        sys.stderr.write("warning: embedding model unusable; building a keyword-only index\n")
    report = build(Path(args.out) if args.out else index_path(config), corpus.load(), embedder)
    figures = {"path": str(report.path), "passages": report.passages, "languages": list(report.languages),
               "embed_model": report.embed_model, "seconds": round(report.seconds, 2)}
    if args.json:
        print_json(figures)
    else:
        print(f"ok: {report.path}: {report.passages} passages ({', '.join(report.languages)}), "
              f"{'vectors by ' + report.embed_model if report.embed_model else 'keywords only'}, "
              f"{report.seconds:.1f} s")
    return 0


def kb_search(args: argparse.Namespace) -> int:
    from pathlib import Path

    from evy.rag import Index, RagError, open_index
    from evy.rag.embed import open_embedder

    config = load(args.config)
    if args.index:
        index = Index.open(Path(args.index))
        if index.meta.get("embed_model"):  # query with the model the index was built with
            index.embedder = open_embedder(config.replace(rag__embed_model=index.meta["embed_model"]))
    else:
        index = open_index(config.replace(rag__enabled=True))
        if index is None:
            raise RagError("the knowledge-base index is unusable (see the warning above)")
    with index:
        passages = index.search(" ".join(args.query), k=args.k or config["rag.top_k"], language=args.lang)
    if args.json:
        print_json([{"key": p.key, "title": p.title, "language": p.language, "score": p.score,
                     "source": p.source, "text": p.text} for p in passages])
    else:
        for p in passages:
            print(f"[{p.score:.4f}] {p.key} {p.title}\n  {p.text}\n  source: {p.source}")
        if not passages:
            print("no matching passage")
    return 0
